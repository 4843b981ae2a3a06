//! A media worker thread: owns its sessions and their sockets outright, waits
//! on readiness (mio) and on the earliest session tick, and talks to the
//! control plane only through a command channel in and an event channel out.
//! Nothing on the packet path locks or allocates.
//!
//! Bridged legs (`crate::media::bridge`) live in two slots of the same
//! worker. A datagram read on one leg may leave a forward for the other,
//! which the worker hands over at once, borrowing both slots together
//! (`two_slots`, a split of the slot table: no copy, no allocation); the
//! forwarded packet goes out of the other leg's socket before the next
//! read. Likewise after each tick, the frame a transcoding leg decoded and
//! resampled is moved into its peer's queue.
//!
//! A session's datagrams name the socket they leave from: RTP, and RTCP
//! when rtcp-mux was negotiated, from the RTP socket; other RTCP from the
//! RTCP socket (RTP port + 1). A closing session sends its RTCP BYE first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::ErrorKind;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::net::UdpSocket;
use mio::{Events, Poll, Token, Waker};
use tokio::sync::mpsc::UnboundedSender;

use crate::media::ports::{PortAllocator, PortPair};
use crate::media::recorder::{RecorderHandle, RecordingOutcome, RecordingSpec, RoomRecordingSpec};
use crate::media::session::{
    MediaParams, MediaSession, SessionEvent, SessionId, SessionSetup, Source, Transmit, Via,
    PENDING_EVENTS,
};
use crate::media::stats::{bump, MediaMetrics};

mod bridging;
mod commands;
mod moving;
mod room_recording;
mod rooms;
mod shared_mix;

use bridging::two_slots;
pub use moving::{MovedSession, WorkerLink};
use rooms::Room;

/// Control plane → worker.
#[derive(Debug)]
pub enum WorkerCommand {
    Create {
        setup: Box<SessionSetup>,
        ports: PortPair,
    },
    Update {
        id: SessionId,
        params: MediaParams,
    },
    /// `generation` numbers the control plane's source changes of this
    /// session and comes back with the session's events.
    SetSource {
        id: SessionId,
        source: Source,
        generation: u32,
    },
    /// Key presses to send to the caller (telephone-event or tones).
    SendDigits {
        id: SessionId,
        digits: String,
    },
    /// Listen for key presses (inband tones too, where there is no
    /// telephone-event), or stop.
    ListenForDigits {
        id: SessionId,
        on: bool,
    },
    /// The bridge peer's key presses are reported
    /// (`SessionEvent::PeerDigit`) for the control plane to send by
    /// signalling, instead of being played here as tones.
    KeysBySignalling {
        id: SessionId,
    },
    /// The leg was answered (arms the media timeout).
    Answered {
        id: SessionId,
    },
    /// Connects two legs of one call on this worker: each sends what the
    /// other receives (pass-through when their codecs match, else transcoded).
    Bridge {
        a: SessionId,
        b: SessionId,
    },
    /// Puts a leg in conference room `room` of this worker, created on the
    /// first join; the leg then sends the room's mix. `record` (sent with
    /// the first member) records the room's mix until the room closes.
    JoinRoom {
        id: SessionId,
        room: String,
        record: Option<RoomRecordingSpec>,
        /// The room tells this member's join and leave by a tone.
        tone: bool,
    },
    /// Plays `samples` (at `rate_hz`) to everyone in `room` but `except`,
    /// after any announcement already playing.
    AnnounceInRoom {
        room: String,
        samples: std::sync::Arc<[i16]>,
        rate_hz: u32,
        except: Option<SessionId>,
    },
    /// Whether the others in its room hear this member.
    SetMuted {
        id: SessionId,
        muted: bool,
    },
    /// The gain, in dB, of what this member hears of its room.
    SetVolume {
        id: SessionId,
        gain_db: i8,
    },
    /// Records what the leg's caller says to a WAV file (see
    /// `crate::media::recorder`), until stopped, the maximum length or
    /// the silence timeout.
    Record {
        id: SessionId,
        spec: RecordingSpec,
    },
    StopRecording {
        id: SessionId,
    },
    /// Disconnects a leg from its bridge peer (it falls back to silence).
    Unbridge {
        id: SessionId,
    },
    Destroy {
        id: SessionId,
    },
    /// Hands the session over to another worker (to join a room mixed
    /// there); this worker forwards its later commands.
    MoveTo {
        id: SessionId,
        to: WorkerLink,
    },
    /// A session handed over by another worker.
    Adopt(Box<MovedSession>),
    Shutdown,
}

/// Worker → control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEvent {
    pub session: SessionId,
    pub kind: MediaEventKind,
    /// The `generation` of the session's source when the event arose (0
    /// for events not about a source): an end of playback reported for a
    /// source since replaced is stale.
    pub generation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEventKind {
    Session(SessionEvent),
    /// The session's sockets are closed and its ports returned.
    Closed,
    /// The session could not be created (e.g. its codec is unavailable).
    Failed(String),
    /// A recording of the session is written (or failed); may come after
    /// `Closed` when the leg hung up while recording.
    Recorded(RecordingOutcome),
}

pub const WAKER_TOKEN: Token = Token(usize::MAX);

/// Datagrams read from one socket before the worker moves on.
const READS_PER_VISIT: usize = 32;

/// Ticks due within this window run together (epoll waits in whole ms).
const COALESCE: Duration = Duration::from_millis(1);

struct Slot {
    session: MediaSession,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    rtp_port: u16,
    generation: u32,
    /// Slot of the bridged peer leg.
    peer: Option<usize>,
    /// Index of the conference room the leg is in (`Worker::rooms`).
    room: Option<usize>,
}

pub struct Worker {
    poll: Poll,
    commands: Receiver<WorkerCommand>,
    events: UnboundedSender<MediaEvent>,
    ports: Arc<PortAllocator>,
    metrics: Arc<MediaMetrics>,
    slots: Vec<Option<Slot>>,
    free_slots: Vec<usize>,
    by_id: HashMap<SessionId, usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    generation: u32,
    buffer: Box<[u8; 2048]>,
    /// Sockets left readable after their read budget, revisited first.
    unread: Vec<usize>,
    /// The other half of the `unread` double buffer (kept to avoid allocating).
    spare: Vec<usize>,
    /// Conference rooms mixed on this worker; a closed room leaves a hole.
    rooms: Vec<Option<Room>>,
    /// Where recordings are written; none in a worker built without one.
    recorder: Option<RecorderHandle>,
    /// Sessions moved to other workers, whose commands are sent on.
    forwards: moving::Forwards,
}

impl Worker {
    /// Builds a worker and the waker the control plane uses to nudge it.
    pub fn new(
        commands: Receiver<WorkerCommand>,
        events: UnboundedSender<MediaEvent>,
        ports: Arc<PortAllocator>,
        metrics: Arc<MediaMetrics>,
    ) -> std::io::Result<(Self, Arc<Waker>)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let worker = Worker {
            poll,
            commands,
            events,
            ports,
            metrics,
            slots: Vec::with_capacity(1024),
            free_slots: Vec::with_capacity(1024),
            by_id: HashMap::with_capacity(1024),
            timers: BinaryHeap::with_capacity(1024),
            generation: 0,
            buffer: Box::new([0; 2048]),
            unread: Vec::with_capacity(2048),
            spare: Vec::with_capacity(2048),
            rooms: Vec::new(),
            recorder: None,
            forwards: moving::Forwards::new(),
        };
        Ok((worker, waker))
    }

    /// Gives the worker the recorder its sessions record through.
    pub fn with_recorder(mut self, recorder: RecorderHandle) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Runs until told to shut down or the control plane goes away.
    pub fn run(mut self) {
        // Room for every socket of a busy worker, so one wake-up reads all
        // that is ready before the ticks run.
        let mut events = Events::with_capacity(8192);
        loop {
            let timeout = if self.unread.is_empty() {
                let session = self.timers.peek().map(|Reverse((at, _, _))| *at);
                session
                    .into_iter()
                    .chain(self.next_room_tick())
                    .min()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(error = %e, "media worker poll failed");
                break;
            }
            let now = Instant::now();
            let mut pending = std::mem::take(&mut self.spare);
            pending.append(&mut self.unread);
            pending.extend(
                events
                    .iter()
                    .map(|e| e.token())
                    .filter(|t| *t != WAKER_TOKEN)
                    .map(|t| t.0),
            );
            for token in pending.drain(..) {
                if !self.read_socket(now, token) {
                    self.unread.push(token);
                }
            }
            self.spare = pending;
            if !self.drain_commands(now) {
                break;
            }
            self.run_due_ticks();
        }
        let ids: Vec<SessionId> = self.by_id.keys().copied().collect();
        for id in ids {
            self.destroy(id);
        }
    }

    /// Reads a socket until it is empty or the per-visit budget is spent;
    /// false when datagrams remain (the socket is revisited next loop, so one
    /// flooded port cannot starve the other sessions' ticks).
    fn read_socket(&mut self, now: Instant, token: usize) -> bool {
        let (index, is_rtcp) = (token >> 1, token & 1 == 1);
        let peer_index = match self.slots.get(index) {
            Some(Some(slot)) => slot.peer,
            _ => return true,
        };
        let (slot, mut peer) = match peer_index {
            Some(p) => {
                let Some((slot, peer)) = two_slots(&mut self.slots, index, p) else {
                    return true;
                };
                (slot, Some(peer))
            }
            None => {
                let Some(Some(slot)) = self.slots.get_mut(index) else {
                    return true;
                };
                (slot, None)
            }
        };
        let socket = if is_rtcp { &slot.rtcp } else { &slot.rtp };
        let session = &mut slot.session;
        let buffer = &mut self.buffer[..];
        let metrics = &self.metrics;
        // A session that panics is isolated: it is closed, the worker goes on.
        let drained = catch_unwind(AssertUnwindSafe(|| {
            for _ in 0..READS_PER_VISIT {
                match socket.recv_from(buffer) {
                    Ok((n, from)) => {
                        let datagram = &buffer[..n];
                        if is_rtcp {
                            session.handle_rtcp(now, from, datagram);
                            continue;
                        }
                        session.handle_rtp(now, from, datagram);
                        // Bridged: the peer sends it on (pass-through audio,
                        // telephone-event), straight from this buffer.
                        if let (Some(forward), Some(peer)) = (session.take_forward(), &mut peer) {
                            // An SRTP leg's unprotected copy, never the wire bytes.
                            peer.session
                                .relay(now, &forward, session.received(datagram));
                            while let Some(out) = peer.session.poll_transmit(now) {
                                send(&peer.rtp, &peer.rtcp, &out, metrics);
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    // ICMP port unreachable and similar surface here on Linux;
                    // they say nothing the media timeout will not.
                    Err(_) => return true,
                }
            }
            false
        }));
        let id = slot.session.id();
        let relink = slot.session.take_packet_time_change();
        match drained {
            Ok(done) => {
                if relink {
                    // New frame sizes: the bridge and the room adapt.
                    self.relink(id);
                    self.room_member_updated(id);
                }
                done
            }
            Err(_) => {
                self.fail(id, "media session panicked on input");
                true
            }
        }
    }

    fn fail(&mut self, id: SessionId, reason: &str) {
        tracing::error!(session = id, reason, "closing media session");
        self.emit(id, MediaEventKind::Failed(reason.to_string()));
        self.destroy(id);
    }

    /// Applies pending commands; false on shutdown.
    fn drain_commands(&mut self, now: Instant) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(WorkerCommand::Shutdown) => return false,
                Ok(command) => self.apply(now, command),
                Err(crossbeam_channel::TryRecvError::Empty) => return true,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn slot_mut(&mut self, id: SessionId) -> Option<&mut Slot> {
        let index = *self.by_id.get(&id)?;
        self.slots.get_mut(index)?.as_mut()
    }

    fn run_due_ticks(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, index, generation))) = self.timers.peek() {
            if at > now + COALESCE {
                break;
            }
            self.timers.pop();
            let Some(Some(slot)) = self.slots.get_mut(index) else {
                continue;
            };
            if slot.generation != generation {
                continue;
            }
            let session = &mut slot.session;
            let (rtp, rtcp) = (&slot.rtp, &slot.rtcp);
            let metrics = &self.metrics;
            let ticked = catch_unwind(AssertUnwindSafe(|| {
                let at = at.max(now);
                session.handle_timeout(at);
                while let Some(out) = session.poll_transmit(at) {
                    send(rtp, rtcp, &out, metrics);
                }
            }));
            if ticked.is_err() {
                let id = slot.session.id();
                self.fail(id, "media session panicked on its tick");
                continue;
            }
            let next = slot.session.poll_timeout();
            let id = slot.session.id();
            let source_generation = slot.session.source_generation();
            let mut pending = [None; PENDING_EVENTS];
            for p in pending.iter_mut() {
                *p = slot.session.poll_event();
            }
            let peer = slot.peer;
            self.timers.push(Reverse((next, index, generation)));
            for event in pending.into_iter().flatten() {
                let _ = self.events.send(MediaEvent {
                    session: id,
                    kind: MediaEventKind::Session(event),
                    generation: source_generation,
                });
            }
            // A transcoding leg's decoded, resampled frame goes to its peer.
            if let Some((leg, peer)) = peer.and_then(|p| two_slots(&mut self.slots, index, p)) {
                if let Some(samples) = leg.session.take_peer_audio() {
                    peer.session.push_peer_audio(samples);
                }
            }
            // A conference member's frame goes to its room.
            self.collect_room_audio(index);
        }
        self.run_room_ticks(now, COALESCE);
    }

    fn emit(&self, session: SessionId, kind: MediaEventKind) {
        // The control plane gone means shutdown; nothing to tell.
        let _ = self.events.send(MediaEvent {
            session,
            kind,
            generation: 0,
        });
    }
}

/// Sends a session's datagram from the socket it names.
fn send(rtp: &UdpSocket, rtcp: &UdpSocket, out: &Transmit<'_>, metrics: &MediaMetrics) {
    let socket = match out.via {
        Via::Rtp => rtp,
        Via::Rtcp => rtcp,
    };
    // A full send buffer drops this packet, like the network would; the
    // next tick carries on. It is counted.
    if socket.send_to(out.datagram, out.to).is_err() {
        bump(&metrics.send_errors);
    }
}
