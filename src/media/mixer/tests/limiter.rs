use super::*;

/// The five-member room of the clipping tests: each member's output and
/// what it would be without the limiter, over `ticks` ticks.
fn loud_room(frame: impl Fn(usize, usize) -> Vec<i16>, ticks: usize) -> Vec<(Vec<i16>, Vec<i32>)> {
    let mut m = mixer(5);
    for id in 0..5 {
        m.add_member(id).expect("add");
    }
    let mut result = vec![(Vec::new(), Vec::new()); 5];
    for tick in 0..ticks {
        let frames: Vec<_> = (0..5).map(|i| frame(i, tick)).collect();
        for (id, f) in frames.iter().enumerate() {
            m.push(id as u64, f);
        }
        m.mix();
        for (id, (out, ideal)) in result.iter_mut().enumerate() {
            out.extend(samples(&m, id as u64));
            ideal.extend((0..FRAME).map(|n| {
                let total: i32 = frames.iter().map(|f| i32::from(f[n])).sum();
                total - i32::from(frames[id][n])
            }));
        }
    }
    result
}

fn max_step<T: Copy + Into<i64>>(x: &[T]) -> i64 {
    x.windows(2)
        .map(|w| (w[1].into() - w[0].into()).abs())
        .max()
        .unwrap_or(0)
}

#[test]
fn full_scale_squares_never_wrap() {
    let periods = [16, 22, 30, 40, 54];
    for (out, ideal) in loud_room(|i, tick| square(periods[i], tick), 50) {
        assert!(out.iter().all(|&s| s >= -32767));
        for (&o, &s) in out.iter().zip(&ideal) {
            if s.abs() > 32767 {
                assert_eq!(o.signum() as i32, s.signum(), "wrapped: {o} for {s}");
                assert!(o.unsigned_abs() > 16000);
            }
        }
        assert!(max_step(&out) <= max_step(&ideal));
    }
}

#[test]
fn limiter_gain_is_smooth_on_full_scale_sines() {
    let freqs = [300.0, 500.0, 700.0, 1100.0, 1300.0];
    for (out, ideal) in loud_room(|i, tick| tone(freqs[i], 32767.0, tick), 50) {
        let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(peak <= 32767 && peak > 30000, "peak {peak}");
        // No step of the output beyond the unlimited mix's own: the gain
        // adds no click.
        assert!(
            max_step(&out) <= max_step(&ideal),
            "{} > {}",
            max_step(&out),
            max_step(&ideal)
        );
        // Gain per sample, where it can be read, moves at most ~0.75 dB.
        let gains: Vec<f64> = out
            .iter()
            .zip(&ideal)
            .map(|(&o, &s)| {
                if s.abs() > 8000 {
                    f64::from(o) / f64::from(s)
                } else {
                    f64::NAN
                }
            })
            .collect();
        let worst = gains
            .windows(2)
            .filter(|w| w[0].is_finite() && w[1].is_finite())
            .map(|w| db(w[1] / w[0]).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1.0, "gain jumped {worst:.2} dB");
    }
}

#[test]
fn one_member_at_minus_6_dbfs_passes_bit_exact() {
    let mut m = mixer(3);
    for id in 0..3 {
        m.add_member(id).expect("add");
    }
    for tick in 0..30 {
        let frame = tone(440.0, amplitude(-6.0), tick);
        m.push(0, &frame);
        m.push(1, &[0; FRAME]);
        m.mix();
        assert_eq!(samples(&m, 1), frame);
        assert_eq!(samples(&m, 2), frame);
        assert!(samples(&m, 0).iter().all(|&s| s == 0));
    }
}
