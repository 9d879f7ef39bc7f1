//! The 40-frame stack shared by the criterion bench and the throughput example.

use serde_json::{Value, json};

/// A 40-frame Windows stack shaped like real Firefox crashes: system wait
/// frames, templates, argument lists, a Rust section and module-only frames.
pub fn forty_frames() -> Value {
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
