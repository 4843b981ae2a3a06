//! The control plane's commands, carried out on the worker.

use std::cmp::Reverse;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Interest, Token};

use super::{MediaEventKind, Slot, Worker, WorkerCommand};
use crate::media::ports::PortPair;
use crate::media::recorder::{RecordingEnd, RecordingOutcome, RecordingSpec};
use crate::media::session::{MediaSession, SessionId, SessionSetup};
use crate::media::stats::bump;

impl Worker {
    /// Carries out one command of the control plane.
    pub(super) fn apply(&mut self, now: Instant, command: WorkerCommand) {
        let Some(command) = self.forward(command) else {
            return;
        };
        match command {
            WorkerCommand::Create { setup, ports } => self.create(now, *setup, ports),
            WorkerCommand::Update { id, params } => {
                if let Some(slot) = self.slot_mut(id) {
                    if let Err(e) = slot.session.update(params, now) {
                        tracing::warn!(session = id, error = %e, "media update failed");
                    }
                }
                // The codec may have changed: pass-through or transcode again.
                self.relink(id);
                self.room_member_updated(id);
            }
            WorkerCommand::SetSource {
                id,
                source,
                generation,
            } => {
                if let Some(slot) = self.slot_mut(id) {
                    slot.session.set_source(source);
                    slot.session.set_source_generation(generation);
                }
            }
            WorkerCommand::SendDigits { id, digits } => {
                if let Some(slot) = self.slot_mut(id) {
                    if let Err(e) = slot.session.send_digits(&digits) {
                        tracing::info!(session = id, error = %e, "digits not sent");
                    }
                }
            }
            WorkerCommand::ListenForDigits { id, on } => {
                if let Some(slot) = self.slot_mut(id) {
                    slot.session.listen_for_digits(on);
                }
            }
            WorkerCommand::KeysBySignalling { id } => {
                if let Some(slot) = self.slot_mut(id) {
                    slot.session.keys_by_signalling();
                }
            }
            WorkerCommand::Answered { id } => {
                if let Some(slot) = self.slot_mut(id) {
                    slot.session.answered(now);
                }
            }
            WorkerCommand::Bridge { a, b } => {
                if let Err(e) = self.bridge(a, b) {
                    tracing::warn!(a, b, error = %e, "cannot bridge media sessions");
                }
            }
            WorkerCommand::Record { id, spec } => self.record(id, spec),
            WorkerCommand::StopRecording { id } => {
                if let Some(slot) = self.slot_mut(id) {
                    slot.session.stop_recording(RecordingEnd::Stopped);
                }
            }
            WorkerCommand::Unbridge { id } => self.unbridge(id),
            WorkerCommand::JoinRoom {
                id,
                room,
                record,
                tone,
            } => self.join_room(now, id, room, record, tone),
            WorkerCommand::AnnounceInRoom {
                room,
                samples,
                rate_hz,
                except,
            } => self.announce_in_room(&room, samples, rate_hz, except),
            WorkerCommand::SetMuted { id, muted } => self.set_member_muted(id, muted),
            WorkerCommand::SetVolume { id, gain_db } => self.set_member_volume(id, gain_db),
            WorkerCommand::Destroy { id } => self.destroy(id),
            WorkerCommand::MoveTo { id, to } => self.move_to(id, to),
            WorkerCommand::Adopt(moved) => self.adopt(*moved),
            WorkerCommand::Shutdown => {}
        }
    }

    fn record(&mut self, id: SessionId, spec: RecordingSpec) {
        let Some(recorder) = self.recorder.clone() else {
            let outcome = RecordingOutcome {
                path: spec.path,
                duration: Duration::ZERO,
                end: RecordingEnd::Stopped,
                error: Some("this worker has no recorder".into()),
            };
            self.emit(id, MediaEventKind::Recorded(outcome));
            return;
        };
        if let Some(slot) = self.slot_mut(id) {
            slot.session.start_recording(&recorder, spec);
        }
    }

    pub(super) fn create(&mut self, now: Instant, setup: SessionSetup, ports: PortPair) {
        let id = setup.id;
        let rtp_port = ports.rtp_port;
        let session = match MediaSession::new(setup, now, self.metrics.clone()) {
            Ok(s) => s,
            Err(e) => {
                self.ports.release(rtp_port);
                self.emit(id, MediaEventKind::Failed(e.to_string()));
                return;
            }
        };
        let rtp = UdpSocket::from_std(ports.rtp);
        let rtcp = UdpSocket::from_std(ports.rtcp);
        if let Err(e) = self.install(session, rtp, rtcp, rtp_port) {
            self.ports.release(rtp_port);
            self.emit(id, MediaEventKind::Failed(e.to_string()));
            return;
        }
        bump(&self.metrics.sessions_created);
    }

    /// Gives `session` a slot, its sockets a place in the poll and its
    /// first timer.
    pub(super) fn install(
        &mut self,
        session: MediaSession,
        mut rtp: UdpSocket,
        mut rtcp: UdpSocket,
        rtp_port: u16,
    ) -> std::io::Result<()> {
        let index = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let registry = self.poll.registry();
        let registered = registry
            .register(&mut rtp, Token(index << 1), Interest::READABLE)
            .and_then(|_| registry.register(&mut rtcp, Token(index << 1 | 1), Interest::READABLE));
        if let Err(e) = registered {
            self.free_slots.push(index);
            return Err(e);
        }
        self.generation = self.generation.wrapping_add(1);
        self.timers
            .push(Reverse((session.poll_timeout(), index, self.generation)));
        self.by_id.insert(session.id(), index);
        self.slots[index] = Some(Slot {
            session,
            rtp,
            rtcp,
            rtp_port,
            generation: self.generation,
            peer: None,
            room: None,
        });
        Ok(())
    }

    /// Takes session `id` out of its bridge or room, its slot and the
    /// poll; the slot is free again.
    pub(super) fn uninstall(&mut self, id: SessionId) -> Option<Slot> {
        self.unbridge(id);
        self.leave_room(id);
        let index = self.by_id.remove(&id)?;
        let mut slot = self.slots.get_mut(index).and_then(Option::take)?;
        let registry = self.poll.registry();
        let _ = registry.deregister(&mut slot.rtp);
        let _ = registry.deregister(&mut slot.rtcp);
        self.free_slots.push(index);
        Some(slot)
    }

    pub(super) fn destroy(&mut self, id: SessionId) {
        let Some(mut slot) = self.uninstall(id) else {
            return;
        };
        // RFC 3550 §6.6: the peer hears we are gone. Isolated like a tick:
        // a session that panics here is closed all the same.
        let metrics = &self.metrics;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let now = Instant::now();
            slot.session.bye(now, "call ended");
            while let Some(out) = slot.session.poll_transmit(now) {
                super::send(&slot.rtp, &slot.rtcp, &out, metrics);
            }
        }));
        let port = slot.rtp_port;
        drop(slot);
        self.ports.release(port);
        bump(&self.metrics.sessions_closed);
        self.emit(id, MediaEventKind::Closed);
    }
}
