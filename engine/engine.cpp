// The public Engine: checks and prepares a run (prepare), then drives one Run.
#include "ringload/engine.hpp"

#include "engine/core/host.hpp"
#include "engine/load/run_plan.hpp"
#include "engine/requests/request.hpp"
#include "engine/run.hpp"

namespace ringload {
namespace {

constexpr uint64_t fd_slack = 64;  // stdio, the ring fds, the export file ...

}  // namespace

struct Engine::Impl {
  RunConfig config;
  PreparedRun prepared;
  bool prepared_ok = false;
  std::atomic<bool> stop_requested{false};
  std::vector<std::string> notices;  // found while preparing, reported with the result
};

Engine::Engine(RunConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }
Engine::~Engine() = default;

const RunConfig& Engine::config() const noexcept { return impl_->config; }

void Engine::request_stop() noexcept { impl_->stop_requested.store(true, std::memory_order_relaxed); }

std::expected<void, std::string> Engine::prepare() {
  RunConfig& c = impl_->config;
  if (auto r = check_config(c); !r) return std::unexpected(r.error().to_string());
  if (c.threads == 0) {
    const std::size_t cpus = allowed_cpus().size();
    c.threads = cpus == 0 ? 1 : static_cast<uint32_t>(cpus);
  }
  auto prepared = prepare_requests(c);
  if (!prepared) return std::unexpected(prepared.error());
  impl_->prepared = std::move(*prepared);
  // More shards than connections to an origin would leave shards without one.
  const std::size_t origins = impl_->prepared.origins.size();
  if (auto r = check_origin_connections(c, origins); !r) return std::unexpected(r.error().to_string());
  const uint64_t fewest = c.connections_per_origin ? c.connections : c.connections / origins;
  if (c.threads > fewest) c.threads = static_cast<uint32_t>(fewest);
  const RunPlan plan(c, origins, impl_->prepared.table->lines.size());
  if (auto r = raise_fd_limit(plan.connections() + fd_slack); !r) return r;
  if (auto r = probe_io_uring(); !r) return r;
  for (const Origin& o : impl_->prepared.origins)
    if (auto r = probe_connect(o, static_cast<uint64_t>(c.connect_timeout.count())); !r) return r;
  bool https = false;
  for (const Origin& o : impl_->prepared.origins) https = https || o.tls != nullptr;
  if (https && !c.tls.verify)
    impl_->notices.push_back("certificate verification is off (--insecure): the figures say nothing about the server's identity");
#ifdef RINGLOAD_WOLFSSL_SLOW
  if (https)
    impl_->notices.push_back("using Debian's wolfSSL without AES-NI: HTTPS costs this client far more CPU (run tools/build_wolfssl.sh)");
#endif
  impl_->prepared_ok = true;
  return {};
}

std::expected<std::unique_ptr<RunResult>, std::string> Engine::run(std::function<void(const Window&)> on_window) {
  if (!impl_->prepared_ok) {
    if (auto r = prepare(); !r) return std::unexpected(r.error());
  }
  Run run(impl_->config, impl_->prepared, impl_->notices);
  if (auto r = run.start(); !r) return std::unexpected(r.error());
  run.control(impl_->stop_requested, on_window);
  return run.finish();
}

}  // namespace ringload
