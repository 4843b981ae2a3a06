//! A recording cut off by a crash is made whole when the server starts.

mod common;

use mediaplane::store::WavRecorder;

use common::TestServer;

#[tokio::test]
async fn a_recording_cut_off_by_a_crash_is_recovered_at_start() {
    let data = tempfile::tempdir().unwrap();
    let inbox = data.path().join("voicemail/1000/INBOX");
    std::fs::create_dir_all(&inbox).unwrap();
    let message = inbox.join("m1.wav");
    let samples: Vec<i16> = (0..8000 * 2).map(|i| ((i % 80) * 100) as i16).collect();
    {
        let mut recorder = WavRecorder::create(&message, 8000).unwrap();
        recorder.write(&samples).unwrap();
        // Dropped without finish: the process died mid-message.
    }
    assert!(!message.exists());
    let dir = data.path().to_path_buf();
    let server = TestServer::start(move |c| c.storage.data_dir = dir).await;
    let reader = hound::WavReader::open(&message).expect("the message is a WAV again");
    let recovered: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    assert!(
        recovered.len() >= 8000,
        "at least its first second: {}",
        recovered.len()
    );
    assert_eq!(recovered[..], samples[..recovered.len()]);
    assert!(!inbox.join("m1.wav.part").exists());
    server.stop().await;
}
