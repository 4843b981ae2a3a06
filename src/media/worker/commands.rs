//! The control plane's commands, carried out on the worker.

use std::time::{Duration, Instant};

use super::{MediaEventKind, Worker, WorkerCommand};
use crate::media::recorder::{RecordingEnd, RecordingOutcome, RecordingSpec};
use crate::media::session::SessionId;

impl Worker {
    /// Carries out one command of the control plane.
    pub(super) fn apply(&mut self, now: Instant, command: WorkerCommand) {
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
}
