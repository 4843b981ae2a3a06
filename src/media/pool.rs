//! The pool of media workers (DESIGN.md threading model): N threads, each a
//! [`Worker`]; sessions are pinned to a worker by an affinity key so legs that
//! touch each other's audio share a thread.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use mio::Waker;
use tokio::sync::mpsc::UnboundedSender;

use crate::media::ports::PortAllocator;
use crate::media::recorder::Recorder;
use crate::media::stats::MediaMetrics;
use crate::media::worker::{MediaEvent, Worker, WorkerCommand, WorkerLink};

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("media worker {0} is gone")]
    WorkerGone(usize),
    #[error("cannot start media worker: {0}")]
    Start(#[from] std::io::Error),
}

struct WorkerHandle {
    commands: Sender<WorkerCommand>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

pub struct MediaPool {
    workers: Vec<WorkerHandle>,
    recorder: Recorder,
    ports: Arc<PortAllocator>,
    metrics: Arc<MediaMetrics>,
}

impl MediaPool {
    /// Starts `count` workers (0 = one per core).
    pub fn start(
        count: usize,
        ports: Arc<PortAllocator>,
        events: UnboundedSender<MediaEvent>,
    ) -> Result<Self, PoolError> {
        let count = match count {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let metrics = Arc::new(MediaMetrics::default());
        let recorder = Recorder::start(events.clone(), metrics.clone())?;
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            let (tx, rx) = crossbeam_channel::unbounded();
            let (worker, waker) = Worker::new(rx, events.clone(), ports.clone(), metrics.clone())?;
            let worker = worker.with_recorder(recorder.handle());
            let thread = std::thread::Builder::new()
                .name(format!("media-{index}"))
                .spawn(move || worker.run())?;
            workers.push(WorkerHandle {
                commands: tx,
                waker,
                thread: Some(thread),
            });
        }
        Ok(MediaPool {
            workers,
            recorder,
            ports,
            metrics,
        })
    }

    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// The worker an affinity key (a call or conference room) lives on.
    pub fn worker_for(&self, affinity: &str) -> usize {
        let mut hasher = DefaultHasher::new();
        affinity.hash(&mut hasher);
        (hasher.finish() % self.workers.len() as u64) as usize
    }

    pub fn send(&self, worker: usize, command: WorkerCommand) -> Result<(), PoolError> {
        let handle = self
            .workers
            .get(worker)
            .ok_or(PoolError::WorkerGone(worker))?;
        handle
            .commands
            .send(command)
            .map_err(|_| PoolError::WorkerGone(worker))?;
        // The command is queued; a failed wake only delays it to the
        // worker's next tick.
        if let Err(e) = handle.waker.wake() {
            tracing::warn!(worker, error = %e, "cannot wake media worker");
        }
        Ok(())
    }

    /// How a worker reaches worker `worker` directly (to hand it a session).
    pub fn link(&self, worker: usize) -> Option<WorkerLink> {
        let handle = self.workers.get(worker)?;
        Some(WorkerLink {
            commands: handle.commands.clone(),
            waker: handle.waker.clone(),
        })
    }

    pub fn ports(&self) -> &Arc<PortAllocator> {
        &self.ports
    }

    pub fn metrics(&self) -> &Arc<MediaMetrics> {
        &self.metrics
    }

    /// Stops every worker, closing their sessions.
    pub fn shutdown(&mut self) {
        for handle in &self.workers {
            let _ = handle.commands.send(WorkerCommand::Shutdown);
            let _ = handle.waker.wake();
        }
        for handle in &mut self.workers {
            if let Some(thread) = handle.thread.take() {
                let _ = thread.join();
            }
        }
        // After the workers: their sessions' last audio is queued by now.
        self.recorder.shutdown();
    }
}

impl Drop for MediaPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
