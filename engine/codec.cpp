#include "engine/codec.hpp"

#include <cstdint>
#include <cstring>

#include "engine/byte_codec.hpp"

namespace gridcase {

namespace {

constexpr uint8_t kCaseFormat = 1;

using bytes::put_signed;
using bytes::put_str;
using bytes::put_varint;
using Reader = bytes::Reader;

Result<Value> decode_value_depth(std::string_view& in, int depth) {
  if (depth > 64) return err("value nested too deeply");
  Reader r{in};
  uint8_t tag = r.byte();
  if (!r.ok) return err("truncated value");
  switch (tag) {
    case 0:
      return Value();
    case 1:
      return Value(false);
    case 2:
      return Value(true);
    case 3: {
      int64_t v = r.signed_();
      if (!r.ok) return err("truncated int");
      return Value(v);
    }
    case 4: {
      if (in.size() < 8) return err("truncated decimal");
      double d;
      std::memcpy(&d, in.data(), 8);
      in.remove_prefix(8);
      return Value(d);
    }
    case 5: {
      std::string s = r.str();
      if (!r.ok) return err("truncated string");
      return Value(std::move(s));
    }
    case 6: {
      int64_t v = r.signed_();
      if (!r.ok) return err("truncated timestamp");
      return Value(Timestamp{v});
    }
    case 7: {
      int64_t v = r.signed_();
      if (!r.ok) return err("truncated duration");
      return Value(Duration{v});
    }
    case 8: {
      uint64_t n = r.count();
      if (!r.ok) return err("truncated list");
      List l;
      l.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        auto v = decode_value_depth(in, depth + 1);
        if (!v.ok()) return v;
        l.push_back(std::move(v).value());
      }
      return Value(std::move(l));
    }
    case 9: {
      uint64_t n = r.count();
      if (!r.ok) return err("truncated map");
      Map m;
      for (uint64_t i = 0; i < n; ++i) {
        std::string k = r.str();
        if (!r.ok) return err("truncated map key");
        auto v = decode_value_depth(in, depth + 1);
        if (!v.ok()) return v;
        m.emplace(std::move(k), std::move(v).value());
      }
      return Value(std::move(m));
    }
    default:
      return err("unknown value tag " + std::to_string(tag));
  }
}

}  // namespace

void encode_value(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::Null:
      out.push_back(0);
      break;
    case Value::Kind::Bool:
      out.push_back(v.as_bool() ? 2 : 1);
      break;
    case Value::Kind::Int:
      out.push_back(3);
      put_signed(v.as_int(), out);
      break;
    case Value::Kind::Double: {
      out.push_back(4);
      double d = v.as_double();
      char buf[8];
      std::memcpy(buf, &d, 8);
      out.append(buf, 8);
      break;
    }
    case Value::Kind::String:
      out.push_back(5);
      put_str(v.as_string(), out);
      break;
    case Value::Kind::Timestamp:
      out.push_back(6);
      put_signed(v.as_timestamp().ms, out);
      break;
    case Value::Kind::Duration:
      out.push_back(7);
      put_signed(v.as_duration().ms, out);
      break;
    case Value::Kind::List:
      out.push_back(8);
      put_varint(v.as_list().size(), out);
      for (const Value& x : v.as_list()) encode_value(x, out);
      break;
    case Value::Kind::Map:
      out.push_back(9);
      put_varint(v.as_map().size(), out);
      for (const auto& [k, x] : v.as_map()) {
        put_str(k, out);
        encode_value(x, out);
      }
      break;
  }
}

Result<Value> decode_value(std::string_view& in) {
  return decode_value_depth(in, 0);
}

std::string encode_case(const Case& c, const Engine& engine) {
  const Workflow& wf = engine.workflows()[c.workflow];
  const Org& org = engine.org();
  std::string out;
  out.reserve(256);
  out.push_back(static_cast<char>(kCaseFormat));
  put_str(c.id, out);
  // A versioned workflow is stored as NAME@VERSION ('@' never occurs in a name); an
  // unversioned one as NAME, as before versions existed.
  put_str(wf.version > 0 ? wf.name + "@" + std::to_string(wf.version) : wf.name, out);
  put_str(wf.states[c.state].name, out);
  put_str(wf.levels[c.level], out);
  put_str(c.unit == kNoUnit ? "" : org.units[c.unit].id, out);
  put_str(org.units[c.grid].id, out);
  out.push_back(c.closed ? 1 : 0);
  put_signed(c.report_count, out);
  put_varint(c.co_handlers.size(), out);
  for (UnitIdx u : c.co_handlers) put_str(org.units[u].id, out);
  put_varint(c.vars.size(), out);
  for (size_t i = 0; i < c.vars.size(); ++i) {
    put_str(wf.vars[i].first, out);
    encode_value(c.vars[i], out);
  }
  encode_value(c.report, out);
  put_signed(c.opened_at.ms, out);
  put_signed(c.level_since.ms, out);
  put_signed(c.last_report_at.ms, out);
  put_signed(c.seq, out);
  encode_value(c.corr_key, out);
  put_varint(c.timers.size(), out);
  for (const PendingTimer& t : c.timers) {
    put_varint(t.seq, out);
    put_signed(t.due.ms, out);
    out.push_back(static_cast<char>(t.kind));
    put_signed(t.index, out);
    put_signed(t.sla_due.ms, out);
  }
  put_varint(c.action_ids.size(), out);
  for (const auto& a : c.action_ids) put_str(a, out);
  return out;
}

Result<Case> decode_case(std::string_view in, const Engine& engine) {
  Reader r{in};
  if (r.byte() != kCaseFormat) return err("unknown case format");
  Case c;
  c.id = r.str();
  std::string wf_name = r.str(), state = r.str(), level = r.str(), unit = r.str(), grid = r.str();
  if (!r.ok) return err("truncated case");
  if (size_t at = wf_name.find('@'); at != std::string::npos) {
    // Pinned to a version: that version must be loaded (deployed versions are never removed).
    int64_t version = 0;
    for (char ch : wf_name.substr(at + 1)) {
      if (ch < '0' || ch > '9' || version > (INT64_MAX - 9) / 10)
        return err("case '" + c.id + "': bad workflow version in '" + wf_name + "'");
      version = version * 10 + (ch - '0');
    }
    std::string name = wf_name.substr(0, at);
    c.workflow = engine.workflow_index(name, version);
    if (c.workflow < 0) {
      return err("case '" + c.id + "': runs on workflow '" + name + "' version " +
                 std::to_string(version) + ", which is not loaded");
    }
  } else {
    // Stored before versions (or from files): the live version of that name.
    c.workflow = engine.workflow_index(wf_name);
  }
  if (c.workflow < 0) return err("case '" + c.id + "': unknown workflow '" + wf_name + "'");
  const Workflow& wf = engine.workflows()[c.workflow];
  const Org& org = engine.org();
  c.state = wf.state_index(state);
  c.level = wf.level_index(level);
  if (c.state < 0 || c.level < 0) {
    return err("case '" + c.id + "': state '" + state + "' or level '" + level +
               "' not in workflow '" + wf_name + "'");
  }
  c.unit = org.find_unit(unit);
  c.grid = org.find_unit(grid);
  if (c.grid == kNoUnit) return err("case '" + c.id + "': unknown grid '" + grid + "'");
  c.closed = r.byte() != 0;
  c.report_count = r.signed_();
  for (uint64_t i = 0, n = r.count(); i < n && r.ok; ++i) {
    UnitIdx u = org.find_unit(r.str());
    if (u != kNoUnit) c.co_handlers.push_back(u);
  }
  for (const auto& v : wf.vars) c.vars.push_back(v.second);
  for (uint64_t i = 0, n = r.count(); i < n && r.ok; ++i) {
    std::string name = r.str();
    auto v = decode_value(in);
    if (!v.ok()) return v.error();
    int idx = wf.var_index(name);
    if (idx >= 0) c.vars[idx] = std::move(v).value();
  }
  auto report = decode_value(in);
  if (!report.ok()) return report.error();
  c.report = std::move(report).value();
  c.opened_at.ms = r.signed_();
  c.level_since.ms = r.signed_();
  c.last_report_at.ms = r.signed_();
  c.seq = r.signed_();
  auto key = decode_value(in);
  if (!key.ok()) return key.error();
  c.corr_key = std::move(key).value();
  for (uint64_t i = 0, n = r.count(); i < n && r.ok; ++i) {
    PendingTimer t;
    t.seq = r.varint();
    t.due.ms = r.signed_();
    t.kind = static_cast<PendingTimer::Kind>(r.byte());
    t.index = static_cast<int32_t>(r.signed_());
    t.sla_due.ms = r.signed_();
    c.timers.push_back(t);
  }
  for (uint64_t i = 0, n = r.count(); i < n && r.ok; ++i) c.action_ids.push_back(r.str());
  if (!r.ok) return err("case '" + c.id + "': truncated");
  return c;
}

}  // namespace gridcase
