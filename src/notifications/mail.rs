//! Email over SMTP (lettre), from templates (minijinja): a plain-text and
//! an HTML body, and the appointment as a `text/calendar` part with its
//! iTIP method (RFC 5546).

use std::sync::LazyLock;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use super::ics::Method;
use crate::config::Config;

/// How long one SMTP exchange may take (well inside a job's lease).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The SMTP transport of a node (`None`: no server configured), built once.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("configured", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone)]
pub struct MailError {
    /// The server's answer or the failure, without the message's content.
    pub detail: String,
    /// The server refused it for good (5xx): retrying will not help.
    pub permanent: bool,
}

impl Mailer {
    /// The mailer of `config` (`CAREBOOK_SMTP_URL`, `CAREBOOK_MAIL_FROM`).
    ///
    /// Errors: an SMTP URL lettre cannot use (already checked by [`Config::load`]).
    pub fn new(config: &Config) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("CAREBOOK_SMTP_URL is not a usable SMTP URL"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
        };
        Ok(Mailer {
            transport,
            from: config.mail_from.clone(),
        })
    }

    /// Whether an SMTP server is configured.
    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Send `message`; the server's answer (`250 …`).
    ///
    /// Errors: not configured, refused, unreachable or timed out.
    pub async fn send(&self, message: Message) -> Result<String, MailError> {
        let Some(transport) = &self.transport else {
            return Err(MailError {
                detail: "SMTP is not configured (CAREBOOK_SMTP_URL)".into(),
                permanent: true,
            });
        };
        match transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(err) => Err(MailError {
                permanent: err.is_permanent(),
                detail: smtp_failure(&err),
            }),
        }
    }
}

/// An SMTP failure in words, without addresses (a refusal's text may quote one).
fn smtp_failure(err: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = err.status() {
        format!("the SMTP server refused the message ({code})")
    } else if err.is_timeout() {
        "the SMTP server did not answer in time".into()
    } else {
        "the SMTP server could not be reached".into()
    }
}

/// What an appointment email says: the template's context.
#[derive(Debug, Clone, Serialize)]
pub struct AppointmentLetter {
    /// The job kind (`appointment_confirmation`, …): which text.
    pub kind: &'static str,
    pub subject: String,
    pub patient_name: String,
    pub doctor_name: String,
    pub facility_name: String,
    pub service_name: Option<String>,
    /// Local time with the zone named.
    pub when: String,
    /// Before a reschedule.
    pub previous_when: Option<String>,
    /// A reminder's offset.
    pub hours: Option<i64>,
    /// A cancellation's reason.
    pub reason: Option<String>,
    pub pending: bool,
    pub telemedicine: bool,
    /// The appointment id.
    pub reference: String,
}

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    // `.html` templates are auto-escaped by minijinja; `.txt` are not.
    for (name, source) in [
        ("appointment.txt", include_str!("templates/appointment.txt")),
        ("appointment.html", include_str!("templates/appointment.html")),
    ] {
        env.add_template(name, source).expect("the shipped templates parse");
    }
    env
});

/// Render the text and HTML bodies of `letter`.
///
/// Errors: a template failed to render (a bug: the shipped templates are tested).
pub fn render(letter: &AppointmentLetter) -> Result<(String, String), minijinja::Error> {
    let context = minijinja::Value::from(minijinja::value::Serde(letter));
    let text = TEMPLATES.get_template("appointment.txt")?.render(&context)?;
    let html = TEMPLATES.get_template("appointment.html")?.render(&context)?;
    Ok((text, html))
}

/// The message: `text/plain` and `text/html` alternatives, and the
/// calendar (when given) as a third alternative `text/calendar;
/// method=…`, which calendar-aware clients show as an invitation.
///
/// Errors: a header lettre refuses.
pub fn compose(
    from: &Mailbox,
    to: Mailbox,
    subject: &str,
    message_id: &str,
    bodies: (String, String),
    calendar: Option<(Method, String)>,
) -> Result<Message, lettre::error::Error> {
    let (text, html) = bodies;
    let mut alternatives = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html));
    if let Some((method, ics)) = calendar {
        let method = match method {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        };
        let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
            .expect("a valid calendar content type");
        alternatives = alternatives.singlepart(SinglePart::builder().header(content_type).body(ics));
    }
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.to_owned()))
        .multipart(alternatives)
}
