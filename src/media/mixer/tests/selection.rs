use super::*;

#[test]
fn loudest_three_speak_with_hangover_and_replacement() {
    let levels = [-10.0, -14.0, -18.0, -22.0, -26.0, -30.0];
    let freqs = [300.0, 500.0, 700.0, 1100.0, 1300.0, 1500.0];
    let mut m = mixer(3);
    for id in 1..=6 {
        m.add_member(id).expect("add");
    }
    // Member 2 pauses 100 ms at tick 50; member 1 stops for 1 s at tick 75.
    let sends = |id: u64, tick: usize| !(id == 1 && (75..125).contains(&tick));
    let paused = |id: u64, tick: usize| id == 2 && (50..55).contains(&tick);
    let mut heard: Vec<Vec<i16>> = vec![Vec::new(); 7];
    let mut log = Vec::new();
    for tick in 0..140 {
        for id in 1..=6u64 {
            let i = id as usize - 1;
            if paused(id, tick) {
                m.push(id, &[0; FRAME]);
            } else if sends(id, tick) {
                m.push(id, &tone(freqs[i], amplitude(levels[i]), tick));
            }
        }
        m.mix();
        log.extend(events(&mut m).into_iter().map(|e| (tick, e)));
        if (20..50).contains(&tick) {
            for (id, out) in heard.iter_mut().enumerate().skip(1) {
                out.extend(samples(&m, id as u64));
            }
        }
        if (56..75).contains(&tick) {
            assert_eq!(speakers(&m), vec![1, 2, 3], "tick {tick}");
        }
    }
    // The three loudest started at once, loudest first; the pause changed
    // nothing; the 1 s stop ended member 1 after its hangover and the
    // loudest waiting member took the place; member 1 came back 8 dB louder
    // than the quietest speaker and took its place again.
    assert_eq!(log.len(), 7, "{log:?}");
    assert_eq!(
        &log[..3],
        &[(0, Started(1)), (0, Started(2)), (0, Started(3))]
    );
    let (stop_tick, stop) = log[3];
    assert_eq!(stop, Stopped(1));
    let after_ms = (stop_tick - 75) * 20;
    assert!(
        (200..=320).contains(&after_ms),
        "dropped after {after_ms} ms"
    );
    assert_eq!(log[4], (stop_tick, Started(4)));
    assert_eq!(&log[5..], &[(125, Stopped(4)), (125, Started(1))]);
    assert_eq!(speakers(&m), vec![1, 2, 3]);

    for (id, out) in heard.iter().enumerate().skip(1) {
        for i in 0..6 {
            let a = amplitude_at(out, freqs[i]);
            let source = i + 1;
            if source > 3 || source == id {
                assert!(a < 1.0, "{id} hears {source} at {a}");
            } else {
                assert!(
                    db(a / amplitude(levels[i])).abs() < 0.5,
                    "{id}: {source} {a}"
                );
            }
        }
    }
}

#[test]
fn noise_lines_stop_being_speakers_once_the_floor_adapts() {
    let noise_rms = amplitude(-45.0) / 2f64.sqrt();
    let mut rng = Rng(7);
    let mut m = mixer(3);
    for id in 0..22 {
        m.add_member(id).expect("add");
    }
    let mut last_noise_speaker = 0;
    let mut residual = 0.0;
    let mut compared = 0;
    for tick in 0..150 {
        let speech = tone(500.0, amplitude(-20.0), tick);
        m.push(0, &speech);
        for id in 1..21 {
            let frame: Vec<i16> = (0..FRAME)
                .map(|_| (noise_rms * rng.gaussian()).round() as i16)
                .collect();
            m.push(id, &frame);
        }
        m.mix();
        if m.speakers().any(|s| s != 0) {
            last_noise_speaker = tick;
        }
        if tick >= 100 {
            let out = samples(&m, 21);
            residual += out
                .iter()
                .zip(&speech)
                .map(|(&o, &s)| (f64::from(o) - f64::from(s)).powi(2))
                .sum::<f64>();
            compared += FRAME;
        }
    }
    assert!(m.is_speaking(0));
    assert!(
        last_noise_speaker <= 100,
        "noise spoke until tick {last_noise_speaker}"
    );
    let residual_rms = (residual / compared as f64).sqrt();
    let twenty_lines = noise_rms * 20f64.sqrt();
    assert!(
        db(twenty_lines / residual_rms.max(1e-3)) > 40.0,
        "residual {residual_rms}"
    );
}

#[test]
fn steady_hum_becomes_the_floor() {
    let mut m = mixer(3);
    m.add_member(1).expect("add");
    let mut last = None;
    for tick in 0..250 {
        m.push(1, &tone(50.0, amplitude(-30.0), tick));
        m.mix();
        if m.is_speaking(1) {
            last = Some(tick);
        }
    }
    let last = last.expect("a new line is heard at first");
    assert!(last < 200, "hum still speaking at tick {last}");
}

#[test]
fn a_muted_member_is_heard_by_nobody_but_hears_the_room() {
    let mut m = mixer(3);
    for id in 0..3 {
        m.add_member(id).expect("add");
    }
    m.set_muted(1, true);
    for tick in 0..20 {
        m.push(0, &tone(400.0, 5000.0, tick));
        m.push(1, &tone(1000.0, 20000.0, tick));
        m.mix();
        assert!(!m.is_speaking(1));
        for id in 0..3 {
            assert!(amplitude_at(&samples(&m, id), 1000.0) < 1.0);
        }
        assert!((amplitude_at(&samples(&m, 1), 400.0) - 5000.0).abs() < 50.0);
    }
    assert_eq!(events(&mut m), vec![Started(0)]);
    // Muting a speaker ends its turn at the next tick.
    m.set_muted(0, true);
    m.push(0, &tone(400.0, 5000.0, 20));
    m.mix();
    assert_eq!(events(&mut m), vec![Stopped(0)]);
    assert!(samples(&m, 2).iter().all(|&s| s == 0));
}

#[test]
fn the_event_queue_is_bounded() {
    let mut m = mixer(3);
    m.add_member(1).expect("add");
    for tick in 0..200 {
        m.set_muted(1, tick % 2 == 1);
        m.push(1, &tone(400.0, 8000.0, tick));
        m.mix();
    }
    assert_eq!(events(&mut m).len(), MIN_EVENT_QUEUE);
    assert_eq!(m.dropped_events(), 200 - MIN_EVENT_QUEUE as u64);
}
