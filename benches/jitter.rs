//! Cost of the playout buffer per packet: one push and one pop, as a media
//! worker does every 20 ms per leg, in order, reordered, and through a
//! jittery network with the adaptive delay at work.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::media::jitter::{Adjust, PacketInfo, Playout, PlayoutBuffer, PlayoutConfig};

const PTIME: Duration = Duration::from_millis(20);

struct Stream {
    buffer: PlayoutBuffer,
    now: Instant,
    sequence: u16,
    timestamp: u32,
    payload: [u8; 160],
}

impl Stream {
    fn new() -> Self {
        Self {
            buffer: PlayoutBuffer::new(PlayoutConfig::default()).expect("default config"),
            now: Instant::now(),
            sequence: 0,
            timestamp: 0,
            payload: [0x55; 160],
        }
    }

    fn info(&self, sequence: u16) -> PacketInfo {
        PacketInfo {
            sequence,
            timestamp: self
                .timestamp
                .wrapping_add(sequence.wrapping_sub(self.sequence) as u32 * 160),
            ssrc: 0x1234_5678,
            marker: false,
        }
    }

    fn push(&mut self, sequence: u16) {
        let info = self.info(sequence);
        black_box(self.buffer.push(self.now, &info, &self.payload));
    }

    /// Pops one tick and returns the played payload's length.
    fn pop(&mut self) -> usize {
        let len = match self.buffer.pop(self.now) {
            Playout::Frame { payload, .. } => payload.len(),
            Playout::Missing { .. } | Playout::Stretch | Playout::Idle => 0,
        };
        self.now += PTIME;
        len
    }

    fn advance(&mut self, packets: u16) {
        self.sequence = self.sequence.wrapping_add(packets);
        self.timestamp = self.timestamp.wrapping_add(packets as u32 * 160);
    }
}

fn playout(c: &mut Criterion) {
    let mut stream = Stream::new();
    c.bench_function("playout push+pop in order", |b| {
        b.iter(|| {
            stream.push(stream.sequence);
            stream.advance(1);
            stream.pop()
        })
    });

    // Every pair swapped: each push lands behind the newest packet.
    let mut stream = Stream::new();
    c.bench_function("playout push+pop reordered pair (2 packets)", |b| {
        b.iter(|| {
            stream.push(stream.sequence.wrapping_add(1));
            stream.push(stream.sequence);
            stream.advance(2);
            (stream.pop(), stream.pop())
        })
    });
}

/// Per-packet network delays in microseconds (0–60 ms, one in fifty lost),
/// generated once so the measured loop only runs the buffer.
fn jitter_trace(len: usize) -> Vec<Option<u64>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (!state.is_multiple_of(50)).then_some(state % 60_000)
        })
        .collect()
}

fn adaptive(c: &mut Criterion) {
    const TRACE: usize = 4096;
    let delays = jitter_trace(TRACE);
    let mut buffer = PlayoutBuffer::new(PlayoutConfig {
        min_delay_frames: 2,
        max_delay_frames: 10,
        ..PlayoutConfig::default()
    })
    .expect("adaptive config");
    let start = Instant::now();
    let payload = [0x55u8; 160];
    // Packets in flight, by arrival time: (arrival µs, sequence number).
    let mut in_flight: Vec<(u64, u32)> = Vec::with_capacity(16);
    let mut sent = 0u32;
    let mut tick = 0u64;
    let mut dropped = 0u64;
    c.bench_function("playout adaptive push+pop with 0-60 ms jitter", |b| {
        b.iter(|| {
            let now_us = tick * 20_000 + 10_000;
            // One packet sent per tick, delayed by the trace.
            if let Some(delay) = delays[sent as usize % TRACE] {
                in_flight.push((sent as u64 * 20_000 + delay, sent));
            }
            sent += 1;
            let mut i = 0;
            while i < in_flight.len() {
                let (arrival, n) = in_flight[i];
                if arrival <= now_us {
                    in_flight.swap_remove(i);
                    let info = PacketInfo {
                        sequence: n as u16,
                        timestamp: n.wrapping_mul(160),
                        ssrc: 0x1234_5678,
                        marker: false,
                    };
                    let at = start + Duration::from_micros(arrival);
                    black_box(buffer.push(at, &info, &payload));
                } else {
                    i += 1;
                }
            }
            let now = start + Duration::from_micros(now_us);
            tick += 1;
            // Every frame taken as quiet: the adaptation runs as often as it can.
            let offer = match buffer.pop(now) {
                Playout::Frame {
                    adjust, payload, ..
                } => {
                    black_box(payload);
                    adjust
                }
                _ => Adjust::Keep,
            };
            match offer {
                Adjust::MayDrop => {
                    dropped += 1;
                    black_box(matches!(buffer.drop_and_pop(now), Playout::Idle));
                }
                Adjust::MayStretch => {
                    black_box(buffer.stretch());
                }
                Adjust::Keep => {}
            }
        })
    });
    black_box(dropped);
}

criterion_group!(benches, playout, adaptive);
criterion_main!(benches);
