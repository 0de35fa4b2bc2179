#include <fstream>
#include <iostream>

#include "app/commands.hpp"
#include "engine/org.hpp"
#include "generator/generator.hpp"

namespace gridcase::app {

int run_generate(const GenerateOptions& opt) {
  Diagnostics diags;
  auto org = load_org_file(opt.org, diags);
  for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
  if (!org) return 2;
  if (org->grids().empty()) {
    std::cerr << "gridcase generate: " << opt.org << ": the org tree has no grids\n";
    return 2;
  }
  gen::Options g;
  g.seed = opt.seed;
  g.events = opt.events;
  g.action_share = opt.action_share;
  g.flood_week = !opt.no_flood_week;
  if (opt.start) {
    auto t = parse_timestamp(*opt.start);
    if (!t.ok()) {
      std::cerr << "gridcase generate: --start: " << t.error().message << '\n';
      return 2;
    }
    g.start = *t;
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (opt.out != "-") {
    file.open(opt.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "gridcase generate: cannot write " << opt.out << '\n';
      return 2;
    }
    out = &file;
  }
  gen::generate(*org, g, *out);
  out->flush();
  if (!*out) {
    std::cerr << "gridcase generate: write failed\n";
    return 2;
  }
  return 0;
}

}  // namespace gridcase::app
