//! Cost of the playout buffer per packet: one push and one pop, as a media
//! worker does every 20 ms per leg.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::media::jitter::{PacketInfo, Playout, PlayoutBuffer, PlayoutConfig};

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

criterion_group!(benches, playout);
criterion_main!(benches);
