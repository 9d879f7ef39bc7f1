//! Single-core throughput check without criterion: prints signatures per
//! CPU-second for the 40-frame benchmark stack.
use serde_json::{Value, json};
use signature::{CrashData, SigLists, SignatureGenerator};
fn forty_frames() -> Value {
    let functions = [
        "NtWaitForSingleObject",
        "WaitForSingleObjectEx",
        "mozilla::detail::ConditionVariableImpl::wait(mozilla::detail::MutexImpl&)",
        "mozilla::OffTheBooksCondVar::Wait(mozilla::BaseTimeDuration<mozilla::TimeDurationValueCalculator>)",
        "void nsTArray_Impl<RefPtr<mozilla::dom::Element>, nsTArrayInfallibleAllocator>::RemoveElementsAt(unsigned __int64, unsigned __int64)",
        "mozilla::dom::ContentParent::RecvFoo(mozilla::ipc::ByteBuf&&, nsTSubstring<char> const&) const",
        "static void servo_arc::Arc<style::gecko_properties::ComputedValues>::drop_slow<style::gecko_properties::ComputedValues>()",
        "core::ptr::drop_in_place<style::stylist::CascadeData>",
        "<rayon_core::job::HeapJob<BODY> as rayon_core::job::Job>::execute::h0123456789abcdef",
        "js::jit::CodePosition::operator<(js::jit::CodePosition) const",
        "IPC::ParamTraits<nsTSubstring<char> >::Write(IPC::Message *,nsTSubstring<char> const &)",
        "`anonymous namespace'::ReadFile(void*)",
        "nsXPConnect::InitStatics() [clone .cold.638]",
        "mozilla::layers::BasicImageLayer::Paint(mozilla::gfx::DrawTarget*, mozilla::gfx::PointTyped<mozilla::gfx::UnknownUnits, float> const&, mozilla::layers::Layer*)",
        "nsThread::ProcessNextEvent(bool, bool*)",
        "NS_ProcessNextEvent(nsIThread*, bool)",
        "mozilla::ipc::MessagePump::Run(base::MessagePump::Delegate*)",
        "MessageLoop::RunInternal()",
        "MessageLoop::Run()",
        "nsBaseAppShell::Run()",
    ];
    let mut frames = Vec::new();
    for i in 0..40 {
        let frame = if i % 7 == 6 {
            json!({"module": "xul.dll", "offset": format!("0x{:016x}", 0x7ff6_0000_u64 + i)})
        } else {
            let function = functions[i as usize % functions.len()];
            let file = if function.contains("servo")
                || function.contains("rayon")
                || function.starts_with("core")
            {
                "git:github.com/rust-lang/rust:library/core/src/ptr/mod.rs:abc"
            } else {
                "hg:hg.mozilla.org/mozilla-central:xpcom/threads/nsThread.cpp:deadbeef"
            };
            json!({"module": "xul.dll", "function": function, "file": file, "line": 100 + i,
                   "offset": format!("0x{:016x}", 0x7ff6_0000_u64 + i)})
        };
        frames.push(frame);
    }
    json!({
        "json_dump": {
            "crash_info": {"crashing_thread": 0, "type": "EXCEPTION_ACCESS_VIOLATION_READ"},
            "system_info": {"os": "Windows NT"},
            "threads": [{"frames": frames}],
        },
    })
}

fn main() {
    let crash = CrashData::from_processed_crash(&forty_frames());
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/socorro/siglists"
    );
    let generator =
        SignatureGenerator::new(SigLists::load_dir(dir).unwrap_or_else(|e| panic!("{e}")));
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += generator
            .generate(std::hint::black_box(&crash))
            .signature
            .len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} signatures in {secs:.3}s wall: {:.0}/s (checksum {total})",
        f64::from(n) / secs
    );
    let mut one = forty_frames();
    if let Some(frames) = one["json_dump"]["threads"][0]["frames"].as_array_mut() {
        frames.truncate(
            std::env::args()
                .nth(1)
                .and_then(|a| a.parse().ok())
                .unwrap_or(6),
        );
    }
    let crash = CrashData::from_processed_crash(&one);
    let start = std::time::Instant::now();
    for _ in 0..n {
        total += generator
            .generate(std::hint::black_box(&crash))
            .signature
            .len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "short stack: {:.0}/s (checksum {total})",
        f64::from(n) / secs
    );
}
