//! Live signals: "something new for this user / at this facility", from
//! the transaction that made it to every node's open streams.
//!
//! A write announces a [`Signal`] with [`super::Tx::announce`]. On
//! PostgreSQL the commit carries it to every node as a `NOTIFY` on
//! `carebook_live` (sent inside the transaction, so it is delivered if and
//! only if the change commits), which each node's listener turns into a
//! local broadcast; on SQLite (one process) the commit broadcasts it
//! directly. A signal carries no data: a stream that hears one reads what is
//! new from the database, so a signal lost (a listener reconnecting, a slow
//! stream) delays nothing past the next one, and [`Signal::All`] after a
//! reconnect makes every stream catch up.

use std::sync::Weak;
use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

/// The channel of the signals.
pub const CHANNEL: &str = "carebook_live";

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// A notification of this user.
    User(Uuid),
    /// An appointment at this facility.
    Facility(Uuid),
    /// Anything (the listener was away): every stream catches up.
    All,
}

impl Signal {
    /// The `NOTIFY` payload: `u <id>`, `f <id>`, `*`.
    pub fn payload(self) -> String {
        match self {
            Signal::User(id) => format!("u {id}"),
            Signal::Facility(id) => format!("f {id}"),
            Signal::All => "*".into(),
        }
    }

    /// Read a payload (anything unreadable is [`Signal::All`]).
    pub fn parse(payload: &str) -> Signal {
        match payload.split_once(' ') {
            Some(("u", id)) => id.parse().map(Signal::User).unwrap_or(Signal::All),
            Some(("f", id)) => id.parse().map(Signal::Facility).unwrap_or(Signal::All),
            _ => Signal::All,
        }
    }

    /// Whether a stream of `user` (or of `facility`) should look.
    pub fn concerns_user(self, user: Uuid) -> bool {
        matches!(self, Signal::All) || self == Signal::User(user)
    }

    /// Whether a stream of `facility` should look.
    pub fn concerns_facility(self, facility: Uuid) -> bool {
        matches!(self, Signal::All) || self == Signal::Facility(facility)
    }
}

/// A node's broadcast of signals to its open streams.
#[derive(Debug, Clone)]
pub struct Live {
    sender: broadcast::Sender<Signal>,
}

impl Default for Live {
    fn default() -> Self {
        // A stream more than 1,024 signals behind hears `Lagged` and catches up.
        Live {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Live {
    /// The hub of SQLite databases: one per process, shared by every
    /// connection pool of it (as the nodes of one process in tests), since
    /// there no listener carries signals between them.
    pub fn sqlite() -> Live {
        static SHARED: std::sync::LazyLock<Live> = std::sync::LazyLock::new(Live::default);
        SHARED.clone()
    }

    /// Hear the signals from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }

    /// Tell this node's streams.
    pub fn publish(&self, signal: Signal) {
        let _ = self.sender.send(signal);
    }
}

/// Turn `carebook_live` notifications into local signals until `life` ends
/// (PostgreSQL).
pub(super) fn listen(url: String, live: Live, life: Weak<()>) {
    tokio::spawn(async move {
        use sea_orm::sqlx::postgres::PgListener;
        let mut listener: Option<PgListener> = None;
        while life.strong_count() > 0 {
            let Some(connected) = listener.as_mut() else {
                if let Ok(mut fresh) = PgListener::connect(&url).await
                    && fresh.listen(CHANNEL).await.is_ok()
                {
                    // What was said while nobody listened is unknown: everyone looks.
                    live.publish(Signal::All);
                    listener = Some(fresh);
                } else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                continue;
            };
            match tokio::time::timeout(Duration::from_secs(1), connected.try_recv()).await {
                Err(_) => {}
                Ok(Ok(Some(notification))) => live.publish(Signal::parse(notification.payload())),
                Ok(Ok(None) | Err(_)) => listener = None,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        let id = Uuid::new_v4();
        for signal in [Signal::User(id), Signal::Facility(id), Signal::All] {
            assert_eq!(Signal::parse(&signal.payload()), signal);
        }
        assert_eq!(Signal::parse("u nonsense"), Signal::All);
        assert!(Signal::All.concerns_user(id) && Signal::User(id).concerns_user(id));
        assert!(!Signal::Facility(id).concerns_user(id));
    }
}
