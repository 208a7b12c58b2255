//! What a live stream sends: one's new notifications, or a facility's
//! day-board changes, read from the database whenever a signal
//! ([`crate::db::live`]) says there may be some.
//!
//! A stream keeps a cursor (the creation time of the newest item sent) and
//! reads from [`OVERLAP`] before it, skipping what it already sent: a
//! transaction that committed late with an earlier time is still found.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::policy::{Action, Scope, authorize};
use crate::db::entities::notification;
use crate::db::notifications::{self as stored, BoardEvent};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How far back each read looks past the cursor, for late commits.
pub const OVERLAP: TimeDelta = TimeDelta::seconds(10);

/// Most items one read returns (the next signal, or read, gets the rest).
const BATCH: u64 = 200;

/// The ids sent within [`OVERLAP`] of the cursor.
#[derive(Debug, Default)]
struct Sent(VecDeque<(DateTime<Utc>, Uuid)>);

impl Sent {
    fn fresh(&mut self, at: DateTime<Utc>, id: Uuid) -> bool {
        if self.0.iter().any(|(_, sent)| *sent == id) {
            return false;
        }
        self.0.push_back((at, id));
        true
    }

    fn forget_before(&mut self, at: DateTime<Utc>) {
        self.0.retain(|(sent_at, _)| *sent_at >= at);
    }
}

/// One user's stream of notifications.
#[derive(Debug)]
pub struct UserFeed {
    user: Uuid,
    cursor: DateTime<Utc>,
    sent: Sent,
}

impl UserFeed {
    /// The actor's feed from now, or from just after `last_event_id` (one of
    /// their notifications: what they missed since it is sent first). An
    /// unknown or someone else's id starts from now.
    pub async fn open(state: &AppState, actor: &Actor, last_event_id: Option<Uuid>) -> AppResult<UserFeed> {
        authorize(actor, Action::Notifications)?;
        let mut feed = UserFeed {
            user: actor.user_id,
            cursor: state.clock.now(),
            sent: Sent::default(),
        };
        if let Some(last) = last_event_id
            && let Some(seen) = crate::db::find_by_id::<notification::Entity>(state.db.conn(), last).await?
            && seen.user_id == actor.user_id
        {
            feed.cursor = seen.created_at;
            feed.sent.fresh(seen.created_at, seen.id);
        }
        Ok(feed)
    }

    /// The user of this feed.
    pub fn user(&self) -> Uuid {
        self.user
    }

    /// What is new since the last read, oldest first.
    pub async fn read(&mut self, state: &AppState) -> AppResult<Vec<notification::Model>> {
        let rows = stored::since(state.db.conn(), self.user, self.cursor - OVERLAP, BATCH).await?;
        let new: Vec<_> = rows
            .into_iter()
            .filter(|n| self.sent.fresh(n.created_at, n.id))
            .collect();
        if let Some(newest) = new.iter().map(|n| n.created_at).max() {
            self.cursor = self.cursor.max(newest);
        }
        self.sent.forget_before(self.cursor - OVERLAP);
        Ok(new)
    }
}

/// A facility's stream of day-board changes.
#[derive(Debug)]
pub struct BoardFeed {
    facility: Uuid,
    cursor: DateTime<Utc>,
    sent: Sent,
}

impl BoardFeed {
    /// The day board of `facility` from now: administrators and reception
    /// any facility's, nurses their own (404 for another: the policy's
    /// facility scope).
    ///
    /// Errors: 403 for doctors and patients; 404 for an unknown facility or a nurse's other one.
    pub async fn open(state: &AppState, actor: &Actor, facility: Uuid) -> AppResult<BoardFeed> {
        match authorize(actor, Action::DayBoardRead)? {
            Scope::Facility if actor.facility_id != Some(facility) => return Err(AppError::NotFound("facility")),
            Scope::Own => return Err(AppError::NotFound("facility")),
            _ => {}
        }
        if crate::db::directory::find_facility(state.db.conn(), facility)
            .await?
            .is_none()
        {
            return Err(AppError::NotFound("facility"));
        }
        Ok(BoardFeed {
            facility,
            cursor: state.clock.now(),
            sent: Sent::default(),
        })
    }

    /// The facility of this feed.
    pub fn facility(&self) -> Uuid {
        self.facility
    }

    /// What changed since the last read, oldest first.
    pub async fn read(&mut self, state: &AppState) -> AppResult<Vec<BoardEvent>> {
        let rows = stored::board_since(state.db.conn(), self.facility, self.cursor - OVERLAP, BATCH).await?;
        let new: Vec<_> = rows
            .into_iter()
            .filter(|e| self.sent.fresh(e.created_at, e.id))
            .collect();
        if let Some(newest) = new.iter().map(|e| e.created_at).max() {
            self.cursor = self.cursor.max(newest);
        }
        self.sent.forget_before(self.cursor - OVERLAP);
        Ok(new)
    }
}
