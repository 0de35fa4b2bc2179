#include <iostream>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "storage/rocksdb_store.hpp"

namespace gridcase::app {

int run_cases(const CasesOptions& opt) {
  auto engine = load_engine(opt.org, opt.workflows);
  if (!engine) return 2;
  auto store = RocksStore::open(opt.state_dir, *engine);
  if (!store.ok()) {
    std::cerr << "gridcase cases: --state-dir " << opt.state_dir << ": " << store.error().message << '\n';
    return 2;
  }
  if (auto r = write_cases(opt.out, *engine, *store.value()); !r.ok()) {
    std::cerr << "gridcase cases: " << r.error().message << '\n';
    return 2;
  }
  return 0;
}

}  // namespace gridcase::app
