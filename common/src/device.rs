//! Device selection: the only place that knows which GPU API (CUDA, Vulkan, wgpu) is in use.
//! Everything else takes the [`Selected`] device it returns.

use burn::tensor::Device;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unknown device `{0}`; use cpu, cuda, cuda:N, vulkan, vulkan:N, wgpu or wgpu:N")]
    Unknown(String),
    #[error("unknown CPU backend `{0}`; use flex (default, fastest) or ndarray")]
    UnknownBackend(String),
    #[error(
        "this harness was built without the `ndarray` feature, so `--backend ndarray` is not available; rebuild with `cargo build --release -p harness --features ndarray` (burn-ndarray is kept for comparison and left out of the default build, which it would make minutes longer)"
    )]
    NoNdarray,
    #[error(
        "this harness was built without CUDA support; rebuild with `cargo build --release --features cuda` (the first such build downloads an LLVM bundle, so it needs network once), or use `--features vulkan` and `--device vulkan`, which builds offline"
    )]
    NoCuda,
    #[error(
        "this harness was built without the `{feature}` feature, so `--device {device}` is not available; rebuild with `cargo build --release --features {feature}` (builds offline; running needs a Vulkan driver and the loader, libvulkan1)"
    )]
    NoGraphics { feature: &'static str, device: String },
    #[error("device `{device}` could not be opened: {reason}. Is a Vulkan driver installed? (`vulkaninfo --summary` lists the adapters; NVIDIA's driver ships its Vulkan ICD)")]
    Unavailable { device: String, reason: String },
}

/// A resolved device with a description for the run manifest.
#[derive(Debug, Clone)]
pub struct Selected {
    pub device: Device,
    /// `flex`, `ndarray`, `cuda`, `vulkan` or `wgpu`.
    pub backend: String,
    /// e.g. `cpu`, `cuda:0`, `vulkan:0`; a GPU's adapter and driver follow it, as in
    /// `vulkan (NVIDIA H200; driver NVIDIA 570.124.06)`.
    pub name: String,
}

/// Resolves `--device` and `--backend` (`flex`, `ndarray`; CPU only).
///
/// - `cpu`: burn-flex (or ndarray, in a build with `--features ndarray`) on the host.
/// - `cuda`, `cuda:N`: the N-th CUDA device (a build with `--features cuda`).
/// - `vulkan`: the default Vulkan adapter (a discrete GPU when there is one); `vulkan:N`: the
///   N-th discrete GPU (a build with `--features vulkan`).
/// - `wgpu`, `wgpu:N`: the same through whichever graphics API wgpu settles on (Vulkan, Metal,
///   DX12; a build with `--features wgpu`).
///
/// A graphics device is opened here, so a missing driver is an error now, not a panic later.
pub fn select(device: &str, backend: &str) -> Result<Selected, DeviceError> {
    let device = device.trim().to_ascii_lowercase();
    if device == "cpu" {
        return match backend {
            "flex" => Ok(Selected { device: Device::flex(), backend: "flex".into(), name: "cpu".into() }),
            "ndarray" => ndarray(),
            other => Err(DeviceError::UnknownBackend(other.into())),
        };
    }
    let (api, rest) = device.split_once(':').map_or((device.as_str(), None), |(a, r)| (a, Some(r)));
    let index = match rest {
        None => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| DeviceError::Unknown(device.clone()))?),
    };
    match api {
        "cuda" => cuda(index.unwrap_or(0)),
        "vulkan" | "wgpu" => graphics(api, index, &device),
        _ => Err(DeviceError::Unknown(device)),
    }
}

/// burn-ndarray: deprecated upstream in favour of flex, kept selectable for comparison.
#[cfg(feature = "ndarray")]
fn ndarray() -> Result<Selected, DeviceError> {
    #[allow(deprecated)]
    let device = Device::ndarray();
    Ok(Selected { device, backend: "ndarray".into(), name: "cpu".into() })
}

#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Result<Selected, DeviceError> {
    Err(DeviceError::NoNdarray)
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Selected, DeviceError> {
    Ok(Selected { device: Device::cuda(index), backend: "cuda".into(), name: format!("cuda:{index}") })
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Selected, DeviceError> {
    Err(DeviceError::NoCuda)
}

/// Opens a wgpu device once per process (burn's runtime for a selector can be initialised only
/// once) and keeps it for later calls.
#[cfg(any(feature = "vulkan", feature = "wgpu"))]
fn graphics(api: &str, index: Option<usize>, requested: &str) -> Result<Selected, DeviceError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use burn::tensor::DeviceKind;
    use burn::tensor::wgpu::WgpuBackend;

    let graphics_api = match api {
        #[cfg(feature = "vulkan")]
        "vulkan" => WgpuBackend::Vulkan,
        #[cfg(feature = "wgpu")]
        "wgpu" => WgpuBackend::Auto,
        _ => return Err(DeviceError::NoGraphics { feature: if api == "vulkan" { "vulkan" } else { "wgpu" }, device: requested.into() }),
    };
    static OPENED: OnceLock<Mutex<HashMap<String, Selected>>> = OnceLock::new();
    let mut opened = OPENED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(selected) = opened.get(requested) {
        return Ok(selected.clone());
    }
    let kind = index.map_or(DeviceKind::DefaultDevice, DeviceKind::DiscreteGpu);
    // wgpu may panic inside a driver that is half there; report it as an error all the same.
    let attempt = std::panic::catch_unwind(|| Device::wgpu_options().device_kind(kind).graphics_api(graphics_api).init());
    let device = match attempt {
        Ok(Ok(device)) => device,
        Ok(Err(e)) => return Err(DeviceError::Unavailable { device: requested.into(), reason: e.to_string() }),
        Err(panic) => {
            let reason = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "the graphics runtime panicked".into());
            return Err(DeviceError::Unavailable { device: requested.into(), reason });
        }
    };
    let adapter = device.identity().map(|id| id.name).unwrap_or_else(|| "unknown adapter".into());
    let driver = driver_of(&adapter, api == "vulkan");
    let name = match driver {
        Some(driver) => format!("{requested} ({adapter}; driver {driver})"),
        None => format!("{requested} ({adapter})"),
    };
    let selected = Selected { device, backend: api.into(), name };
    opened.insert(requested.into(), selected.clone());
    Ok(selected)
}

/// The driver wgpu reports for the adapter named `adapter` (e.g. `NVIDIA 570.124.06`), for the
/// manifest: two drivers can give one net different numbers.
#[cfg(any(feature = "vulkan", feature = "wgpu"))]
fn driver_of(adapter: &str, vulkan_only: bool) -> Option<String> {
    use burn::tensor::wgpu::wgpu;
    let backends = if vulkan_only { wgpu::Backends::VULKAN } else { wgpu::Backends::all() };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends, ..wgpu::InstanceDescriptor::new_without_display_handle() });
    let adapters = block_on(instance.enumerate_adapters(backends));
    adapters.iter().map(|a| a.get_info()).find(|info| info.name == adapter).map(|info| {
        let driver = [info.driver.as_str(), info.driver_info.as_str()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        if driver.is_empty() { "not reported".into() } else { driver }
    })
}

/// Native wgpu futures are ready at once (or after a few polls); no async runtime is needed.
#[cfg(any(feature = "vulkan", feature = "wgpu"))]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut context) {
            return out;
        }
        std::thread::yield_now();
    }
}

#[cfg(not(any(feature = "vulkan", feature = "wgpu")))]
fn graphics(api: &str, _index: Option<usize>, requested: &str) -> Result<Selected, DeviceError> {
    Err(DeviceError::NoGraphics { feature: if api == "vulkan" { "vulkan" } else { "wgpu" }, device: requested.into() })
}

/// Device memory burn's allocator holds now (bytes reserved by its pools, which grow to a run's
/// peak and keep it for reuse); `None` for the CPU backends, which do not report it.
pub fn device_memory_reserved(selected: &Selected) -> Option<u64> {
    selected.device.memory_pool_usage().map(|usage| usage.bytes_reserved)
}

/// The process's peak resident memory (VmHWM) in bytes, where the OS reports it.
pub fn host_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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

/// What decides this machine's CPU numbers, as `(what, value)` lines for `harness machine` and
/// CI's log: the same seed can give another trajectory where one of these differs, so a failed
/// training gate is read beside them.
pub fn numerics() -> Vec<(&'static str, String)> {
    let mut lines = vec![("CPU", cpu_description())];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let v3 = has!("avx2") && has!("fma") && has!("bmi2") && has!("f16c");
        let v4 = v3 && has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl");
        // macerator (burn-flex's element-wise ops and reductions) is built with its AVX-512 code
        // and picks the widest level the CPU has; gemm's AVX-512 kernels are behind its `x86-v4`
        // feature, which nothing here turns on.
        let elementwise = if v4 {
            "x86-64-v4 (AVX-512)"
        } else if v3 {
            "x86-64-v3 (AVX2)"
        } else {
            "x86-64-v2 or below (SSE)"
        };
        lines.push(("burn-flex element-wise SIMD (macerator)", elementwise.to_owned()));
        let gemm = if has!("avx2") && has!("fma") { "AVX2 + FMA (x86-64-v3; gemm's AVX-512 kernels are not built)" } else { "scalar" };
        lines.push(("matrix products (gemm: burn-flex's and the project's convolutions)", gemm.to_owned()));
    }
    lines.push(("caches (gemm blocks its products by these)", caches().unwrap_or_else(|| "not reported".into())));
    lines.push(("compute threads (reductions are split by this count)", compute_threads().to_string()));
    lines.push(("CPU features recorded in manifests", cpu_features()));
    lines
}

/// The data and unified caches of CPU 0 as Linux reports them (`L1d 32K 8-way, ...`), the
/// figures gemm sizes its blocks from.
fn caches() -> Option<String> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok().map(|s| s.trim().to_owned());
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else { continue };
        if kind == "Instruction" {
            continue;
        }
        let ways = read("ways_of_associativity").map(|w| format!(" {w}-way")).unwrap_or_default();
        let name = if kind == "Data" { format!("L{level}d") } else { format!("L{level}") };
        found.push(format!("{name} {size}{ways}"));
    }
    found.sort();
    (!found.is_empty()).then(|| found.join(", "))
}

/// The threads burn-flex's kernels split work over (rayon's global pool; `RAYON_NUM_THREADS`
/// sets it). Reductions are split by this count, so it is recorded beside every number.
pub fn compute_threads() -> usize {
    rayon::current_num_threads()
}
