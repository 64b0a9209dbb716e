//! What the training engine reads: an [`ImageSource`] writes one preprocessed (and, when
//! training, augmented) item into a buffer, and [`for_each_batch`] assembles batches on worker
//! threads ahead of the consumer, so decoding and augmentation overlap with the training step.
//!
//! Every random choice for an item is drawn from a generator seeded by `(seed, epoch, item)`,
//! so a batch is the same whichever thread built it and however many threads there are.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::DataConfig;
use super::augment::Preprocess;
use super::{DataError, ImageSet};

/// Items a model reads: preprocessed images and their labels.
pub trait ImageSource: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `[channels, height, width]` of one view.
    fn shape(&self) -> [usize; 3];
    /// Views written per item: 1, or e.g. 10 for 10-crop evaluation (scores are averaged).
    fn views(&self) -> usize {
        1
    }
    fn classes(&self) -> usize;
    /// Writes item `index` (all its views, one after another) into `out` and returns its label.
    /// `rng` is given when training: random augmentation applies.
    fn write(&self, index: usize, out: &mut [f32], rng: Option<&mut ChaCha8Rng>) -> Result<usize, DataError>;
}

/// An in-memory split with the config's preprocessing.
pub struct InMemorySource {
    pub set: ImageSet,
    pub preprocess: Preprocess,
    pub distortion: Option<super::augment::Distortion>,
    /// From the training split, shared by the training and evaluation sources.
    pub mean: Option<Arc<Vec<f32>>>,
    pub classes: usize,
}

impl InMemorySource {
    pub fn new(set: ImageSet, data: &DataConfig, mean: Option<Arc<Vec<f32>>>, classes: usize) -> Self {
        Self { set, preprocess: data.preprocess.clone(), distortion: data.distortion.clone(), mean, classes }
    }
}

impl ImageSource for InMemorySource {
    fn len(&self) -> usize {
        self.set.len()
    }
    fn shape(&self) -> [usize; 3] {
        let (h, w) = self.preprocess.output_side(self.set.rows, self.set.cols);
        [self.set.channels, h, w]
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn write(&self, index: usize, out: &mut [f32], rng: Option<&mut ChaCha8Rng>) -> Result<usize, DataError> {
        self.preprocess.write(&self.set, index, out, self.mean.as_deref().map(|m| m.as_slice()), self.distortion.as_ref(), rng);
        Ok(self.set.labels[index] as usize)
    }
}

/// A batch assembled on the host: `images` is `[items × views, c, h, w]` row-major.
#[derive(Debug, Clone)]
pub struct HostBatch {
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    /// `[items × views, c, h, w]`.
    pub shape: [usize; 4],
    pub views: usize,
}

/// The generator of one item's random choices in one epoch.
pub fn item_rng(seed: u64, epoch: usize, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0fa1_117e_4500);
    rng.set_stream(epoch as u64);
    rng.set_word_pos((index as u128) << 32);
    rng
}

/// Builds one batch of `indices`; `augment` = `(seed, epoch)` when training.
pub fn build_batch(source: &dyn ImageSource, indices: &[usize], augment: Option<(u64, usize)>) -> Result<HostBatch, DataError> {
    let [c, h, w] = source.shape();
    let views = source.views();
    let per_item = views * c * h * w;
    let mut images = vec![0f32; indices.len() * per_item];
    let mut labels = Vec::with_capacity(indices.len());
    for (slot, &i) in indices.iter().enumerate() {
        let out = &mut images[slot * per_item..(slot + 1) * per_item];
        let label = match augment {
            Some((seed, epoch)) => source.write(i, out, Some(&mut item_rng(seed, epoch, i)))?,
            None => source.write(i, out, None)?,
        };
        labels.push(label as i64);
    }
    Ok(HostBatch { images, labels, shape: [indices.len() * views, c, h, w], views })
}

static LOADER_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the loader threads for the rest of the process (the harness's `-j/--workers`); 0 goes
/// back to the default.
pub fn set_loader_threads(threads: usize) {
    LOADER_THREADS.store(threads, std::sync::atomic::Ordering::Relaxed);
}

/// Loader threads: as set by [`set_loader_threads`], else `$REPRO_LOADER_THREADS`, else the
/// machine's cores (at most 16).
pub fn loader_threads() -> usize {
    let set = LOADER_THREADS.load(std::sync::atomic::Ordering::Relaxed);
    if set > 0 {
        return set;
    }
    std::env::var("REPRO_LOADER_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16))
}

/// How many finished batches of `batch_size` items of `source` each loader worker may hold:
/// about 8 MiB of images, at least 1 (ImageNet's batches) and at most 256. Small batches (one
/// 32×32 image per step of a one-sample-per-update optimiser) then flow without a thread hand-off per batch: with a queue of 1,
/// worker and trainer woke each other for every image.
pub fn queue_depth(source: &dyn ImageSource, batch_size: usize) -> usize {
    const QUEUE_BYTES: usize = 8 << 20;
    let [c, h, w] = source.shape();
    let batch_bytes = (batch_size * source.views() * c * h * w * std::mem::size_of::<f32>()).max(1);
    (QUEUE_BYTES / batch_bytes).clamp(1, 256)
}

/// Calls `consume` on the batches of `chunks`, in order, while `threads` workers build the next
/// ones (each holds at most `depth` finished batches, so at most `threads × (depth + 1)` batches
/// are in memory: keep `depth` at 1 for ImageNet-size batches). Worker `k` builds batches
/// `k, k + threads, …`, so order is kept without a reorder buffer. `consume` returns `false` to
/// stop early.
pub fn for_each_batch<E: From<DataError>>(
    source: &dyn ImageSource,
    chunks: &[&[usize]],
    augment: Option<(u64, usize)>,
    threads: usize,
    depth: usize,
    mut consume: impl FnMut(usize, HostBatch) -> Result<bool, E>,
) -> Result<(), E> {
    let threads = threads.clamp(1, chunks.len().max(1));
    std::thread::scope(|scope| {
        let receivers: Vec<Receiver<Result<HostBatch, DataError>>> = (0..threads)
            .map(|k| {
                let (tx, rx) = sync_channel(depth.max(1));
                scope.spawn(move || {
                    for b in (k..chunks.len()).step_by(threads) {
                        // A send fails when the consumer stopped: then stop too.
                        if tx.send(build_batch(source, chunks[b], augment)).is_err() {
                            break;
                        }
                    }
                });
                rx
            })
            .collect();
        for b in 0..chunks.len() {
            let batch = receivers[b % threads].recv().expect("loader worker ended early")?;
            if !consume(b, batch)? {
                break;
            }
        }
        drop(receivers);
        Ok(())
    })
}
