//! An estimated MOS by the ITU-T G.107 E-model, in the simplified form
//! call-quality monitors use: only delay and packet loss vary, every other
//! factor is at its G.107 default.
//!
//! R = 93.2 − Id − Ie,eff, where 93.2 is R0 − Is with the defaults
//! (G.107 §7.1, Table 3), and
//! - Id = 0.024 d + 0.11 (d − 177.3) H(d − 177.3), d the one-way delay in ms
//!   (G.107 §7.3 with echo perfectly cancelled, as fitted by Cole and
//!   Rosenbluth, "Voice over IP performance monitoring", ACM SIGCOMM CCR
//!   31(2), 2001),
//! - Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl) for random loss
//!   (G.107 §7.4 with BurstR = 1),
//! - MOS = 1 + 0.035 R + R (R − 60)(100 − R) · 7·10⁻⁶ (G.107 Annex B).

use serde::Serialize;

use crate::codec::CodecKind;

/// R0 − Is with every G.107 default parameter.
const R_DEFAULT: f64 = 93.2;
/// Where delay starts to hurt conversation much more (G.107 §7.3).
const DELAY_KNEE_MS: f64 = 177.3;

/// A codec's equipment impairment and robustness to loss on the
/// narrowband scale (ITU-T G.113 Appendix I).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CodecImpairment {
    /// Equipment impairment factor Ie without loss.
    pub ie: f64,
    /// Packet-loss robustness factor Bpl (random loss).
    pub bpl: f64,
    /// Encoder look-ahead added to the frame in the one-way delay, in ms.
    pub lookahead_ms: f64,
}

impl CodecImpairment {
    /// G.711 with packet loss concealment: Ie 0, Bpl 25.1 (G.113
    /// Appendix I, Table I.3).
    pub const G711_PLC: CodecImpairment = CodecImpairment {
        ie: 0.0,
        bpl: 25.1,
        lookahead_ms: 0.0,
    };

    /// The values used for each codec:
    /// - PCMU, PCMA, L16: G.711 with concealment (the decoder path conceals
    ///   lost frames).
    /// - G.722: G.113 gives its values on the wideband scale (G.107.1);
    ///   on this narrowband scale it is taken as G.711 with concealment,
    ///   which understates its quality a little.
    /// - Opus: G.113 has no values for it; taken as G.711 with concealment
    ///   (its in-band concealment and FEC make that conservative), plus the
    ///   encoder's 6.5 ms look-ahead (libopus `OPUS_GET_LOOKAHEAD` in the
    ///   VoIP and audio modes).
    pub fn for_codec(kind: CodecKind) -> Self {
        match kind {
            CodecKind::Opus => CodecImpairment {
                lookahead_ms: 6.5,
                ..Self::G711_PLC
            },
            _ => Self::G711_PLC,
        }
    }
}

/// What a MOS estimate for one direction is made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityInputs {
    /// Round-trip time; None counts no network delay.
    pub rtt_ms: Option<f64>,
    /// The receiver's playout (jitter buffer) delay.
    pub playout_delay_ms: f64,
    /// The packet's audio duration (packetisation delay).
    pub frame_ms: f64,
    /// Packets lost, in percent.
    pub loss_percent: f64,
    pub codec: CodecImpairment,
}

impl QualityInputs {
    /// Mouth-to-ear delay: half the round trip, the playout buffer, and the
    /// codec's frame and look-ahead.
    pub fn one_way_delay_ms(&self) -> f64 {
        self.rtt_ms.unwrap_or(0.0).max(0.0) / 2.0
            + self.playout_delay_ms.max(0.0)
            + self.frame_ms.max(0.0)
            + self.codec.lookahead_ms
    }

    /// The E-model's transmission rating R.
    pub fn r_factor(&self) -> f64 {
        R_DEFAULT
            - delay_impairment(self.one_way_delay_ms())
            - effective_equipment_impairment(self.codec, self.loss_percent)
    }

    /// The estimated MOS (conversational quality, 1 to 4.5).
    pub fn mos(&self) -> f64 {
        mos_from_r(self.r_factor())
    }
}

/// Id for a one-way delay of `d` ms (G.107 §7.3, no echo).
pub fn delay_impairment(d: f64) -> f64 {
    let d = if d.is_nan() { 0.0 } else { d.max(0.0) };
    let knee = if d > DELAY_KNEE_MS {
        0.11 * (d - DELAY_KNEE_MS)
    } else {
        0.0
    };
    0.024 * d + knee
}

/// Ie,eff for `loss_percent` random loss (G.107 §7.4, BurstR = 1).
pub fn effective_equipment_impairment(codec: CodecImpairment, loss_percent: f64) -> f64 {
    let ppl = if loss_percent.is_finite() {
        loss_percent.clamp(0.0, 100.0)
    } else {
        0.0
    };
    if ppl + codec.bpl <= 0.0 {
        return codec.ie;
    }
    codec.ie + (95.0 - codec.ie) * ppl / (ppl + codec.bpl)
}

/// G.107 Annex B: MOS from R, 1 below R = 0 and 4.5 above R = 100.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        return 1.0;
    }
    if r >= 100.0 {
        return 4.5;
    }
    let mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
    mos.clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(rtt_ms: f64, playout_delay_ms: f64, loss_percent: f64) -> QualityInputs {
        QualityInputs {
            rtt_ms: Some(rtt_ms),
            playout_delay_ms,
            frame_ms: 20.0,
            loss_percent,
            codec: CodecImpairment::G711_PLC,
        }
    }

    #[test]
    fn clean_short_call_is_about_4_4() {
        let mos = inputs(10.0, 20.0, 0.0).mos();
        assert!((mos - 4.4).abs() < 0.05, "{mos}");
        // The best the narrowband E-model gives: R 93.2.
        assert!((mos_from_r(93.2) - 4.41).abs() < 0.01);
    }

    #[test]
    fn five_percent_loss_on_g711() {
        // Typical delay: 100 ms round trip, 60 ms playout, 20 ms frames.
        let mos = inputs(100.0, 60.0, 5.0).mos();
        assert!((3.6..=3.8).contains(&mos), "{mos}");
        // Ie,eff = 95 · 5 / 30.1.
        let ie = effective_equipment_impairment(CodecImpairment::G711_PLC, 5.0);
        assert!((ie - 15.78).abs() < 0.01);
        // With next to no delay the loss alone leaves it near 3.9.
        let mos = inputs(0.0, 0.0, 5.0).mos();
        assert!((3.85..=3.95).contains(&mos), "{mos}");
    }

    #[test]
    fn monotone_in_loss_and_delay() {
        let mut last = f64::INFINITY;
        for tenth in 0..=300 {
            let mos = inputs(40.0, 40.0, f64::from(tenth) / 10.0).mos();
            assert!(mos <= last, "loss {tenth}");
            last = mos;
        }
        let mut last = f64::INFINITY;
        for rtt in (0..=1500).step_by(5) {
            let mos = inputs(f64::from(rtt), 40.0, 1.0).mos();
            assert!(mos <= last, "rtt {rtt}");
            last = mos;
        }
        assert!(last < 3.0);
    }

    #[test]
    fn delay_knee() {
        assert!((delay_impairment(100.0) - 2.4).abs() < 1e-9);
        assert!((delay_impairment(277.3) - (0.024 * 277.3 + 11.0)).abs() < 1e-9);
    }

    #[test]
    fn extremes_stay_in_range() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        let mos = inputs(f64::INFINITY, f64::NAN, 1000.0).mos();
        assert!((1.0..=4.5).contains(&mos));
        assert_eq!(
            CodecImpairment::for_codec(CodecKind::Opus).lookahead_ms,
            6.5
        );
    }
}
