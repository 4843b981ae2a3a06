//! Tests of SDP parsing, building and offer/answer.

mod answer;
mod build;
mod codec_params;
mod fuzz;
mod offer;
mod parse;
mod samples;
mod srtp;
