//! Cost of one 20 ms tick of a conference room: every member's frame pushed,
//! then the mix (voice activity of each member, speaker selection, the
//! shared mix and each speaker's mix-minus). Three members talk (tone bursts
//! with pauses, as speech has); the rest send low-level line noise.
//! Throughput is per member, so the per-member cost reads directly.
//!
//! Before measuring, each room runs with allocation counting on, and must
//! not allocate: the mixer's steady state is part of the packet path.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;

use counting_alloc::allocations;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mediaplane::media::mixer::{MemberId, Mixer, MixerConfig};

/// Distinct noise frames, shared among the silent members.
const NOISE_FRAMES: usize = 16;
/// A talker's cycle: 400 ms on, 100 ms off, in 20 ms frames.
const TALK_CYCLE: usize = 25;
const TALK_ON: usize = 20;
/// Ticks before measuring: the speakers are chosen and the noise floors
/// have settled.
const WARM_UP: usize = 200;

/// A room of `members` at `rate`, its members' input and the tick count.
struct Room {
    mixer: Mixer,
    members: u64,
    /// One cycle of each talker's frames.
    talk: Vec<Vec<Vec<i16>>>,
    noise: Vec<Vec<i16>>,
    tick: usize,
}

impl Room {
    fn new(rate: u32, members: u64) -> Self {
        let mut mixer = Mixer::new(MixerConfig::new(rate)).expect("mixer");
        for id in 0..members {
            mixer.add_member(id).expect("add");
        }
        let len = (rate / 50) as usize;
        let talk = [330.0, 610.0, 1020.0]
            .iter()
            .map(|&hz| {
                (0..TALK_CYCLE)
                    .map(|f| {
                        (0..len)
                            .map(|i| {
                                if f >= TALK_ON {
                                    return 0;
                                }
                                let t = (f * len + i) as f64 / f64::from(rate);
                                (8000.0 * (std::f64::consts::TAU * hz * t).sin()) as i16
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Seeded xorshift noise around −55 dBFS.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let noise = (0..NOISE_FRAMES)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        ((state >> 48) as i16) / 512
                    })
                    .collect()
            })
            .collect();
        Room {
            mixer,
            members,
            talk,
            noise,
            tick: 0,
        }
    }

    fn tick(&mut self) {
        let t = self.tick;
        for id in 0..self.members {
            let frame = match self.talk.get(id as usize) {
                Some(cycle) => &cycle[t % TALK_CYCLE],
                None => &self.noise[(id as usize + t) % NOISE_FRAMES],
            };
            self.mixer.push(id, black_box(frame));
        }
        self.mixer.mix();
        while let Some(event) = self.mixer.poll_event() {
            black_box(event);
        }
        self.tick += 1;
    }
}

fn mix(c: &mut Criterion) {
    // The zero checks below mean something only if counting works.
    assert!(allocations(|| drop(black_box(vec![0u8; 16]))) > 0);
    let mut group = c.benchmark_group("mixer 20 ms tick");
    for (rate, members) in [(8000, 10), (8000, 100), (8000, 1000), (48_000, 10)] {
        let mut room = Room::new(rate, members);
        for _ in 0..WARM_UP {
            room.tick();
        }
        let mut speakers: Vec<MemberId> = room.mixer.speakers().collect();
        speakers.sort_unstable();
        assert_eq!(speakers, vec![0, 1, 2], "only the talkers speak");
        let allocated = allocations(|| {
            for _ in 0..TALK_CYCLE * 4 {
                room.tick();
            }
        });
        assert_eq!(
            allocated, 0,
            "{members} members at {rate} Hz: a tick allocated"
        );
        group.throughput(Throughput::Elements(members));
        group.bench_function(format!("{} kHz, {members} members", rate / 1000), |b| {
            b.iter(|| room.tick())
        });
        let mut speakers: Vec<MemberId> = room.mixer.speakers().collect();
        speakers.sort_unstable();
        assert_eq!(speakers, vec![0, 1, 2], "the talkers kept speaking");
    }
    group.finish();
}

criterion_group!(benches, mix);
criterion_main!(benches);
