//! Members joining and leaving at random for a simulated minute: nobody
//! ever hears themselves, the room never holds a member that left, and
//! every speaker is heard by the others.

use super::*;

/// Each member present talks in bursts on a frequency no other present
/// member uses: a whole number of periods per frame (multiples of 50 Hz at
/// 8 kHz), so one DFT bin measures it exactly.
fn slot_hz(slot: usize) -> f64 {
    200.0 + 50.0 * slot as f64
}

#[test]
fn fifty_members_churning_for_a_minute_never_hear_themselves() {
    let mut rng = Rng(0x5eed_c0de);
    let mut mixer = Mixer::new(MixerConfig::new(RATE)).unwrap();
    let mut present: Vec<MemberId> = Vec::new();
    // The frequency slot of each present member; 70 slots for at most 50.
    let mut slot_of: std::collections::HashMap<MemberId, usize> = Default::default();
    let mut free_slots: Vec<usize> = (0..70).collect();
    let mut next_id: MemberId = 1;
    let (mut joins, mut leaves, mut checks) = (0, 0, 0);
    let amp = amplitude(-12.0);
    let member_hz =
        |slots: &std::collections::HashMap<MemberId, usize>, id: MemberId| slot_hz(slots[&id]);
    // 60 s of 20 ms ticks.
    for tick in 0..3000usize {
        // About one join or leave every 100 ms, keeping 10 to 50 members.
        if rng.next_u64().is_multiple_of(5) {
            let leave =
                present.len() >= 50 || (present.len() > 10 && rng.next_u64().is_multiple_of(2));
            if leave {
                let at = (rng.next_u64() % present.len() as u64) as usize;
                let id = present.swap_remove(at);
                free_slots.extend(slot_of.remove(&id));
                mixer.remove_member(id);
                assert!(!mixer.contains(id));
                leaves += 1;
            } else {
                mixer.add_member(next_id).unwrap();
                slot_of.insert(next_id, free_slots.pop().unwrap());
                present.push(next_id);
                next_id += 1;
                joins += 1;
            }
        }
        let mut talking = Vec::new();
        for &id in &present {
            // Talk 300 ms, pause 200 ms, each member on its own phase;
            // some members stay silent.
            let phase = (tick + id as usize * 7) % 25;
            if id % 4 != 0 && phase < 15 {
                mixer.push(id, &tone(member_hz(&slot_of, id), amp, tick));
                talking.push(id);
            }
        }
        mixer.mix();
        assert_eq!(mixer.len(), present.len());
        let speakers: Vec<MemberId> = mixer.speakers().collect();
        assert!(speakers.len() <= 3);
        assert!(
            speakers.iter().all(|s| present.contains(s)),
            "a speaker that left"
        );
        for &id in &present {
            let heard = mixer.output(id).unwrap().samples();
            let own = amplitude_at(heard, member_hz(&slot_of, id));
            assert!(
                own < 1.0,
                "tick {tick}: member {id} hears itself at {own:.1}"
            );
            // Every other speaker talking now is in what this member hears
            // (the limiter only scales it; a speaker in its hangover is
            // silent).
            for &other in speakers
                .iter()
                .filter(|&&s| s != id && talking.contains(&s))
            {
                let level = amplitude_at(heard, member_hz(&slot_of, other));
                assert!(
                    level > amp * 0.2,
                    "tick {tick}: member {id} misses speaker {other} ({level:.0})"
                );
            }
            checks += 1;
        }
    }
    assert!(
        joins > 100 && leaves > 60,
        "churn: {joins} joins, {leaves} leaves"
    );
    assert!(checks > 50_000, "{checks}");
}
