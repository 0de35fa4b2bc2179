// gridcase token add|list|revoke: the API tokens of the HTTP face (STATE/tokens.json).
#include <filesystem>
#include <iostream>

#include "app/commands.hpp"
#include "app/loading.hpp"
#include "connectors/http/tokens.hpp"
#include "engine/org.hpp"

namespace gridcase::app {

int run_token(const TokenOptions& opt) {
  std::string path = (std::filesystem::path(opt.state_dir) / "tokens.json").string();
  auto store = http::TokenStore::open(path);
  if (!store.ok()) {
    std::cerr << "gridcase token: " << store.error().message << '\n';
    return 2;
  }
  if (opt.command == "add") {
    std::string kind = opt.sms_gateway ? "sms_gateway" : "person";
    if (!opt.sms_gateway) {
      if (opt.person.empty()) {
        std::cerr << "gridcase token add: --person ID 必填 / required (or --sms-gateway)\n";
        return 2;
      }
      // Only people of the org get tokens: the server maps each token to a person and unit.
      Diagnostics diags;
      auto org = load_effective_org(opt.org, opt.state_dir, diags);
      for (const auto& d : diags.all()) std::cerr << d.format() << '\n';
      if (!org) return 2;
      const Person* p = org->find_person(opt.person);
      if (!p) {
        std::cerr << "gridcase token add: 人员“" << opt.person << "”不在 " << opt.org
                  << " 中 / no such person\n";
        return 2;
      }
      std::cerr << "为 " << p->name << "（" << p->id << "，" << p->role << "，" << p->unit
                << "）创建令牌 / token for this person\n";
    }
    http::TokenInfo info;
    auto token = store.value()->add(opt.person, opt.name, kind, &info);
    if (!token.ok()) {
      std::cerr << "gridcase token add: " << token.error().message << '\n';
      return 2;
    }
    std::cerr << "令牌只显示这一次，请妥善保存 / shown once only, keep it safe (id " << info.id
              << ")\n";
    std::cout << token.value() << '\n';
    return 0;
  }
  if (opt.command == "list") {
    std::cout << "id        kind         person      created_at            name\n";
    for (const auto& t : store.value()->list()) {
      std::cout << t.id << "  " << t.kind
                << std::string(t.kind.size() < 12 ? 12 - t.kind.size() : 1, ' ') << " "
                << (t.person.empty() ? "-" : t.person)
                << std::string(t.person.size() < 11 ? 11 - t.person.size() : 1, ' ') << " "
                << t.created_at << "  " << t.name << '\n';
    }
    return 0;
  }
  if (opt.command == "revoke") {
    auto r = store.value()->revoke(opt.id);
    if (!r.ok()) {
      std::cerr << "gridcase token revoke: " << r.error().message << '\n';
      return 2;
    }
    if (!r.value()) {
      std::cerr << "gridcase token revoke: 没有 id 为“" << opt.id << "”的令牌 / no such token\n";
      return 1;
    }
    std::cerr << "已吊销 / revoked " << opt.id << '\n';
    return 0;
  }
  return 2;
}

}  // namespace gridcase::app
