// The public Engine: checks and prepares a run (prepare), then drives one Run.
#include "ringload/engine.hpp"

#include "engine/core/host.hpp"
#include "engine/core/sockets.hpp"
#include "engine/load/run_plan.hpp"
#include "engine/plugins/plugin_host.hpp"
#include "engine/requests/request.hpp"
#include "engine/run.hpp"
#include "engine/session/h2_requests.hpp"

#include <algorithm>
#include <mutex>
#include <thread>

namespace ringload {
namespace {


}  // namespace

struct Engine::Impl {
  RunConfig config;
  PreparedRun prepared;
  bool prepared_ok = false;
  std::atomic<bool> stop_requested{false};
  std::vector<std::string> notices;  // found while preparing, reported with the result
  std::unique_ptr<PluginHost> plugins;  // config.plugins, loaded once
  bool plugins_loaded = false;
  // The run under way: created by start(), its control loop on `control`, finished by
  // wait(). `mutex` guards `run` and `last` against snapshot() and set_qps().
  mutable std::mutex mutex;
  std::unique_ptr<Run> run;
  std::thread control;
  std::shared_ptr<const Stats> last;  // the totals of the last run that ended
  double last_elapsed_s = 0;
};

Engine::Engine(RunConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

Engine::~Engine() {
  if (impl_->control.joinable()) {
    stop();
    (void)wait();
  }
}

const RunConfig& Engine::config() const noexcept { return impl_->config; }

void Engine::stop() noexcept { impl_->stop_requested.store(true, std::memory_order_relaxed); }

std::expected<void, std::string> Engine::load_plugins() {
  Impl& im = *impl_;
  if (im.plugins_loaded) return {};
  if (!im.config.plugins.empty()) {
    auto host = PluginHost::load(im.config.plugins);
    if (!host) return std::unexpected(host.error());
    im.plugins = std::move(*host);
    im.plugins->set_fatal(im.config.plugin_errors_fatal);
  }
  im.plugins_loaded = true;
  return {};
}

std::expected<void, std::string> Engine::prepare() {
  RunConfig& c = impl_->config;
  if (auto r = check_config(c); !r) return std::unexpected(r.error().to_string());
  if (auto r = load_plugins(); !r) return r;
  if (c.threads == 0) {
    const std::size_t cpus = allowed_cpus().size();
    c.threads = cpus == 0 ? 1 : static_cast<uint32_t>(cpus);
  }
  auto prepared = prepare_requests(c);
  if (!prepared) return std::unexpected(prepared.error());
  impl_->prepared = std::move(*prepared);
  if (auto r = check_threshold_names(c); !r) return std::unexpected(r.error().to_string());
  if (c.http2 != Http2Mode::off) {
    // A request file's lines, checked as check_config checks the URL run's requests; a line
    // that says "http2" itself is not the run's to refuse.
    const RequestTable& t = *impl_->prepared.table;
    for (const RequestLine& l : t.lines) {
      if (t.http2_of(l.origin) != LineHttp2::run) continue;
      std::string e = http2_refusal(c.http2, t.origins[l.origin].scheme, l.stream != 0);
      if (e.empty()) continue;
      const std::string mode = c.http2 == Http2Mode::alpn ? "http2" : "h2c";
      e.replace(e.find("{http2}"), 7, mode);
      return std::unexpected(t.source + ":" + std::to_string(l.source_line) + ": " + e);
    }
  }
  // More shards than connections to an origin would leave shards without one.
  const std::size_t origins = impl_->prepared.origins.size();
  if (auto r = check_origin_connections(c, origins); !r) return std::unexpected(r.error().to_string());
  const RunPlan plan(c, origins, impl_->prepared.table->lines.size());
  c.threads = std::min(c.threads, plan.fewest_connections());
  auto sockets = plan_sockets(c, impl_->prepared.origins, plan.connections_per_origin(), c.threads, impl_->notices);
  if (!sockets) return std::unexpected(sockets.error());
  impl_->prepared.direct_fds = sockets->direct;
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

std::expected<void, std::string> Engine::start(std::function<void(const Window&)> on_window) {
  Impl& im = *impl_;
  if (im.control.joinable()) return std::unexpected(std::string("a run is under way: wait() for it first"));
  if (!im.prepared_ok) {
    if (auto r = prepare(); !r) return r;
  }
  im.stop_requested.store(false, std::memory_order_relaxed);
  auto run = std::make_unique<Run>(im.config, im.prepared, im.notices, im.plugins.get());
  if (auto r = run->start(im.stop_requested); !r) return r;
  {
    std::lock_guard lock(im.mutex);
    im.run = std::move(run);
  }
  im.control = std::thread([&im, on_window = std::move(on_window)] { im.run->control(im.stop_requested, on_window); });
  return {};
}

std::expected<std::unique_ptr<RunResult>, std::string> Engine::wait() {
  Impl& im = *impl_;
  if (!im.control.joinable()) return std::unexpected(std::string("no run under way: start() one first"));
  im.control.join();
  std::lock_guard lock(im.mutex);
  auto result = im.run->finish();
  if (result) {
    im.last = std::make_shared<const Stats>((*result)->stats);
    im.last_elapsed_s = (*result)->duration_s;
  }
  im.run.reset();
  return result;
}

std::expected<std::unique_ptr<RunResult>, std::string> Engine::run(std::function<void(const Window&)> on_window) {
  if (auto r = start(std::move(on_window)); !r) return std::unexpected(r.error());
  return wait();
}

Snapshot Engine::snapshot() const {
  const Impl& im = *impl_;
  std::lock_guard lock(im.mutex);
  if (im.run) return im.run->snapshot();
  Snapshot s;
  s.totals = im.last;
  s.elapsed_s = im.last_elapsed_s;
  return s;
}

std::expected<void, std::string> Engine::set_qps(double qps) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->run) return std::unexpected(std::string("no run under way"));
  return impl_->run->set_qps(qps);
}

}  // namespace ringload
