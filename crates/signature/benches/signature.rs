//! Signatures per second for a 40-frame C++/Rust stack
//! (`cargo bench -p signature`). Target: at least 200,000/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use signature::{CrashData, SigLists, SignatureGenerator};

/// A 40-frame Windows stack shaped like real Firefox crashes: system wait
/// frames, templates, argument lists, a Rust section and module-only frames.
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

fn bench(c: &mut Criterion) {
    let crash = CrashData::from_processed_crash(&forty_frames());
    let mozilla_dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/socorro/siglists"
    );
    let mut generators = vec![(
        "generic lists",
        SignatureGenerator::generic().unwrap_or_else(|e| panic!("{e}")),
    )];
    if let Ok(lists) = SigLists::load_dir(mozilla_dir) {
        generators.push(("mozilla lists", SignatureGenerator::new(lists)));
    }
    let mut group = c.benchmark_group("signature/40 frames");
    group.throughput(Throughput::Elements(1));
    for (name, generator) in &generators {
        group.bench_function(*name, |b| {
            b.iter(|| generator.generate(std::hint::black_box(&crash)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
