#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "storage/rocksdb_store.hpp"

namespace gridcase::app {

int run_cases(const CasesOptions& opt) {
  auto engine = load_engine(opt.org, opt.workflows, opt.state_dir);
  if (!engine) return 2;
  // serve keeps the engine's store in DIR/engine; simulate --state-dir uses DIR itself.
  std::filesystem::path dir = opt.state_dir;
  if (std::filesystem::is_directory(dir / "engine")) dir /= "engine";
  auto store = RocksStore::open(dir.string(), *engine);
  if (!store.ok()) {
    std::cerr << "gridcase cases: --state-dir " << opt.state_dir << ": " << store.error().message
              << '\n';
    return 2;
  }
  if (auto r = write_cases(opt.out, *engine, *store.value()); !r.ok()) {
    std::cerr << "gridcase cases: " << r.error().message << '\n';
    return 2;
  }
  return 0;
}

}  // namespace gridcase::app
