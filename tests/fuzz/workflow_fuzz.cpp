// The workflow loader on arbitrary bytes: never a crash, and every diagnostic located
// inside the text (or at no position). yaml-cpp's own exceptions are caught by the loader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/workflow.hpp"

namespace {

const gridcase::Org& org() {
  static const gridcase::Org o = [] {
    gridcase::Diagnostics d;
    auto loaded = gridcase::load_org_text(R"(apiVersion: gridcase/v1
kind: Org
levels: [grid, village, township, county]
units:
  - id: zhiduo
    name: 治多县
    level: county
    children:
      - id: jiajiboluo
        name: 加吉博洛镇
        level: township
        children:
          - id: jjbl-c1
            name: 第一社区
            level: village
            children:
              - { id: jjbl-c1-g01, name: 第一网格, level: grid }
)",
                                          "org.yaml", d);
    return *loaded;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gridcase::Diagnostics diags;
  auto wf = gridcase::load_workflow_text(text, "fuzz.yaml", &org(), diags);
  int lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& d : diags.all()) {
    if (d.pos.line < 0 || d.pos.line > lines + 1) __builtin_trap();
  }
  if (wf && diags.has_errors()) __builtin_trap();
  return 0;
}
