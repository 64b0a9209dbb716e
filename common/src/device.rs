//! Device selection: the only place that knows about CUDA.

use burn::tensor::Device;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device `{0}`; use cpu, cuda or cuda:N")]
    Unknown(String),
    #[error("unknown CPU backend `{0}`; use flex (default, fastest) or ndarray")]
    UnknownBackend(String),
    #[error("this harness was built without CUDA support; rebuild with `cargo build --release --features cuda` (the first such build downloads an LLVM bundle, so it needs network once)")]
    NoCuda,
}

/// A resolved device with a description for the run manifest.
#[derive(Debug, Clone)]
pub struct Selected {
    pub device: Device,
    /// `flex`, `ndarray` or `cuda`.
    pub backend: String,
    /// e.g. `cpu`, `cuda:0`.
    pub name: String,
}

/// Resolves `--device` (`cpu`, `cuda`, `cuda:N`) and `--backend` (`flex`, `ndarray`; CPU only).
pub fn select(device: &str, backend: &str) -> Result<Selected, DeviceError> {
    let device = device.trim().to_ascii_lowercase();
    if device == "cpu" {
        return match backend {
            "flex" => Ok(Selected { device: Device::flex(), backend: "flex".into(), name: "cpu".into() }),
            // Deprecated upstream in favour of flex; kept selectable for comparison.
            #[allow(deprecated)]
            "ndarray" => Ok(Selected { device: Device::ndarray(), backend: "ndarray".into(), name: "cpu".into() }),
            other => Err(DeviceError::UnknownBackend(other.into())),
        };
    }
    let index = match device.strip_prefix("cuda") {
        Some("") => 0,
        Some(rest) => rest.strip_prefix(':').and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| DeviceError::Unknown(device.clone()))?,
        None => return Err(DeviceError::Unknown(device)),
    };
    cuda(index)
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Selected, DeviceError> {
    Ok(Selected { device: Device::cuda(index), backend: "cuda".into(), name: format!("cuda:{index}") })
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Selected, DeviceError> {
    Err(DeviceError::NoCuda)
}

/// A short description of the CPU for manifests.
pub fn cpu_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_owned()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{model} ({threads} threads)")
}

/// The SIMD features that choose burn-flex's matrix kernels (`avx2 fma avx512f`): two machines
/// with different lists can give the same seed slightly different numbers.
pub fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let mut found = Vec::new();
        if std::arch::is_x86_feature_detected!("avx2") {
            found.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            found.push("fma");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            found.push("avx512f");
        }
        found.join(" ")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_owned()
    }
}

/// The threads burn-flex's kernels split work over (rayon's global pool; `RAYON_NUM_THREADS`
/// sets it). Reductions are split by this count, so it is recorded beside every number.
pub fn compute_threads() -> usize {
    rayon::current_num_threads()
}
