//! One load-generator call: INVITE, stream tagged frames in real time for
//! the call's duration, let the echo tail arrive, BYE, and report.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::rtp::{RtpCounters, RtpStream, RtpStreamOptions, FRAME_DURATION};
use super::simple_sdp::{crypto_lines, sdp_offer_secure};
use super::ua::{CallState, InviteOptions, TestUserAgent, UaError, TIMER_B};
use crate::codec::CodecKind;
use crate::media::srtp::{match_answer, CryptoAttribute, SrtpSuite};

/// Time kept back before the run deadline for the BYE transaction, at most.
pub(crate) const MAX_BYE_RESERVE: Duration = Duration::from_secs(1);
/// Longest wait for echoed frames still in flight when sending stops.
const ECHO_TAIL: Duration = Duration::from_millis(300);
/// Longest wait for the response to CANCEL or BYE.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// What one call is asked to do.
#[derive(Clone, Debug)]
pub(crate) struct CallPlan {
    pub ua: Arc<TestUserAgent>,
    pub target: String,
    pub codec: CodecKind,
    pub start_at: Instant,
    pub duration: Duration,
    /// Everything, BYE included, is over by then.
    pub deadline: Instant,
    /// Kept back before the deadline for hanging up.
    pub bye_reserve: Duration,
    /// Offer `RTP/SAVP` with an SDES key of this suite (RFC 4568).
    pub srtp: Option<SrtpSuite>,
}

/// Why a call did not get set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A non-2xx final response.
    Status(u16),
    /// No final response in time.
    Timeout,
    /// The 2xx carried no usable SDP answer (the call is set up, media is not).
    BadAnswer,
    /// Socket or transport failure.
    Transport,
    /// The run ended before the call's task did.
    Unfinished,
}

impl Failure {
    /// The key failures are counted under in the report.
    pub fn key(&self) -> String {
        match self {
            Failure::Status(status) => status.to_string(),
            Failure::Timeout => "timeout".to_string(),
            Failure::BadAnswer => "bad-sdp-answer".to_string(),
            Failure::Transport => "transport".to_string(),
            Failure::Unfinished => "unfinished".to_string(),
        }
    }
}

/// What one call measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallOutcome {
    pub failure: Option<Failure>,
    pub setup_time: Option<Duration>,
    pub rtp: RtpCounters,
    pub round_trips_us: Vec<u32>,
    pub ended_by_remote: bool,
    pub bye_status: Option<u16>,
}

impl CallOutcome {
    pub fn failed(failure: Failure) -> CallOutcome {
        CallOutcome {
            failure: Some(failure),
            ..CallOutcome::default()
        }
    }
}

/// Runs the stream under the key the answer accepted; false if it has none
/// that matches our offer.
fn secure_answer(answer: &str, offer: &[CryptoAttribute], rtp: &mut RtpStream) -> bool {
    crypto_lines(answer)
        .first()
        .and_then(|line| match_answer(offer, line).ok())
        .is_some_and(|negotiated| rtp.set_srtp(&negotiated).is_ok())
}

pub(crate) async fn run_call(plan: CallPlan) -> CallOutcome {
    tokio::time::sleep_until(plan.start_at).await;
    let options = RtpStreamOptions {
        keep_samples: false,
        keep_packets: false,
        ..RtpStreamOptions::new(plan.codec)
    };
    let Ok(mut rtp) = RtpStream::bind(options).await else {
        return CallOutcome::failed(Failure::Transport);
    };
    let codecs = [plan.codec, CodecKind::TelephoneEvent];
    let crypto = match plan.srtp {
        Some(suite) => match CryptoAttribute::generate_offer(&[suite]) {
            Ok(crypto) => crypto,
            Err(_) => return CallOutcome::failed(Failure::Transport),
        },
        None => Vec::new(),
    };
    let offer = sdp_offer_secure(rtp.local_addr(), &codecs, &crypto);
    let setup_deadline = plan
        .deadline
        .checked_sub(plan.bye_reserve)
        .unwrap_or(plan.deadline);
    let setup_timeout = setup_deadline
        .saturating_duration_since(Instant::now())
        .min(TIMER_B);
    let invite_options = InviteOptions {
        final_timeout: setup_timeout,
        ..InviteOptions::default()
    };
    let mut call = match plan
        .ua
        .start_invite(&plan.target, &offer, &invite_options)
        .await
    {
        Ok(call) => call,
        Err(_) => return CallOutcome::failed(Failure::Transport),
    };
    let final_response = match call.wait_final(setup_timeout).await {
        Ok(response) => response,
        Err(UaError::Timeout(_)) => {
            if call.state() == CallState::Proceeding {
                // Best effort: free the server's resources for this call.
                let _ = call.cancel(TEARDOWN_TIMEOUT).await;
            }
            return CallOutcome::failed(Failure::Timeout);
        }
        Err(_) => return CallOutcome::failed(Failure::Transport),
    };
    let status = final_response.status_code().unwrap_or_default();
    if !(200..300).contains(&status) {
        return CallOutcome::failed(Failure::Status(status));
    }
    let answered_at = final_response.received_at;
    let mut outcome = CallOutcome {
        setup_time: Some(answered_at.saturating_duration_since(call.invite_sent_at())),
        ..CallOutcome::default()
    };

    // The answer's codec, if the stream can send it, and its key if we
    // offered one.
    let answer = call.answer_sdp().ok().filter(|a| {
        a.codec
            .is_some_and(|codec| rtp.set_codec(codec, a.payload_type).is_ok())
            && (crypto.is_empty() || secure_answer(&final_response.body_text(), &crypto, &mut rtp))
    });
    match answer {
        Some(answer) => {
            rtp.set_remote(answer.rtp_addr());
            let stream_until = (answered_at + plan.duration).min(setup_deadline);
            let stream_for = stream_until.saturating_duration_since(Instant::now());
            let frame_us = FRAME_DURATION.as_micros();
            let frames = (stream_for.as_micros() + frame_us / 2) / frame_us;
            let sending = async {
                for _ in 0..frames {
                    rtp.send_tagged_frame().await?;
                }
                Ok::<(), super::rtp::RtpError>(())
            };
            tokio::select! {
                sent = sending => {
                    if sent.is_err() {
                        outcome.failure = Some(Failure::Transport);
                    }
                }
                bye = call.wait_bye(stream_for + plan.bye_reserve) => {
                    outcome.ended_by_remote = bye.is_ok();
                }
            }
            if !outcome.ended_by_remote {
                let tail = ECHO_TAIL.min(plan.deadline.saturating_duration_since(Instant::now()));
                let _ = rtp.wait_for_packets(rtp.packets_sent(), tail).await;
            }
        }
        None => outcome.failure = Some(Failure::BadAnswer),
    }

    if !outcome.ended_by_remote {
        // The server may have hung up while the echo tail was awaited.
        outcome.ended_by_remote = call.requests().iter().any(|r| r.method() == Some("BYE"));
    }
    if !outcome.ended_by_remote && call.state() == CallState::Established {
        let bye_timeout =
            TEARDOWN_TIMEOUT.min(plan.deadline.saturating_duration_since(Instant::now()));
        outcome.bye_status = call
            .bye(bye_timeout)
            .await
            .ok()
            .and_then(|r| r.status_code());
    }
    outcome.rtp = rtp.counters();
    outcome.round_trips_us = rtp.take_round_trips_us();
    outcome
}
