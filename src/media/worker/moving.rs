//! Moving a session to another worker: a leg whose media was set up on one
//! worker (an IVR caller, placed by its call) that is sent to a conference
//! room mixed on another. The session, its sockets and its state go over
//! whole; the first worker forwards every later command for the leg, so
//! the control plane keeps addressing it where it was made and commands
//! stay in order (the forwarded ones queue behind the session itself).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crossbeam_channel::Sender;
use mio::net::UdpSocket;
use mio::Waker;

use super::{Worker, WorkerCommand};
use crate::media::session::{MediaSession, SessionId};
use crate::media::stats::bump;

/// Where another worker takes commands.
#[derive(Clone)]
pub struct WorkerLink {
    pub(crate) commands: Sender<WorkerCommand>,
    pub(crate) waker: Arc<Waker>,
}

impl fmt::Debug for WorkerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkerLink")
    }
}

impl WorkerLink {
    /// Queues `command` and wakes the worker; false when it is gone.
    fn send(&self, command: WorkerCommand) -> bool {
        if self.commands.send(command).is_err() {
            return false;
        }
        // A failed wake only delays the command to the worker's next tick.
        let _ = self.waker.wake();
        true
    }
}

/// A session on its way between workers, with its sockets.
pub struct MovedSession {
    session: MediaSession,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    rtp_port: u16,
}

impl fmt::Debug for MovedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MovedSession({})", self.session.id())
    }
}

/// Sessions this worker handed on, and where to: their commands follow.
pub(super) type Forwards = HashMap<SessionId, WorkerLink>;

impl WorkerCommand {
    /// The one session a command is about, for forwarding.
    fn session(&self) -> Option<SessionId> {
        match self {
            WorkerCommand::Update { id, .. }
            | WorkerCommand::SetSource { id, .. }
            | WorkerCommand::SendDigits { id, .. }
            | WorkerCommand::ListenForDigits { id, .. }
            | WorkerCommand::KeysBySignalling { id }
            | WorkerCommand::Answered { id }
            | WorkerCommand::JoinRoom { id, .. }
            | WorkerCommand::SetMuted { id, .. }
            | WorkerCommand::SetVolume { id, .. }
            | WorkerCommand::Record { id, .. }
            | WorkerCommand::StopRecording { id }
            | WorkerCommand::Unbridge { id }
            | WorkerCommand::MoveTo { id, .. }
            | WorkerCommand::Destroy { id } => Some(*id),
            WorkerCommand::Bridge { a, .. } => Some(*a),
            WorkerCommand::Create { .. }
            | WorkerCommand::AnnounceInRoom { .. }
            | WorkerCommand::Adopt(_)
            | WorkerCommand::Shutdown => None,
        }
    }
}

impl Worker {
    /// Sends `command` on to the worker its session moved to; gives it back
    /// when its session is not one that moved.
    pub(super) fn forward(&mut self, command: WorkerCommand) -> Option<WorkerCommand> {
        let Some(id) = command
            .session()
            .filter(|id| self.forwards.contains_key(id))
        else {
            return Some(command);
        };
        let done = matches!(command, WorkerCommand::Destroy { .. });
        let delivered = self.forwards.get(&id).is_some_and(|to| to.send(command));
        if done || !delivered {
            self.forwards.remove(&id);
        }
        None
    }

    /// Hands session `id` over to the worker at `to`, out of any bridge
    /// or room here.
    pub(super) fn move_to(&mut self, id: SessionId, to: WorkerLink) {
        let Some(slot) = self.uninstall(id) else {
            return;
        };
        let moved = MovedSession {
            session: slot.session,
            rtp: slot.rtp,
            rtcp: slot.rtcp,
            rtp_port: slot.rtp_port,
        };
        if to.send(WorkerCommand::Adopt(Box::new(moved))) {
            self.forwards.insert(id, to);
            bump(&self.metrics.sessions_moved);
        } else {
            tracing::warn!(
                session = id,
                "the worker to move to is gone; session dropped"
            );
        }
    }

    /// Takes in a session another worker handed over.
    pub(super) fn adopt(&mut self, moved: MovedSession) {
        let MovedSession {
            session,
            rtp,
            rtcp,
            rtp_port,
        } = moved;
        let id = session.id();
        if let Err(e) = self.install(session, rtp, rtcp, rtp_port) {
            tracing::warn!(session = id, error = %e, "cannot take over a moved session");
            self.ports.release(rtp_port);
            self.emit(id, super::MediaEventKind::Failed(e.to_string()));
        }
    }
}
