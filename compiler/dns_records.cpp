#include "compiler/dns_records.h"

#include <ldns/ldns.h>

#include <memory>

namespace emailroute {

const char* to_string(DnsType type) {
  switch (type) {
    case DnsType::kA: return "A";
    case DnsType::kAaaa: return "AAAA";
    case DnsType::kMx: return "MX";
    case DnsType::kTxt: return "TXT";
    case DnsType::kPtr: return "PTR";
    case DnsType::kCname: return "CNAME";
  }
  return "?";
}

std::string absolute_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

std::vector<RequiredRecord> required_records(const RoutingModel& model) {
  std::vector<RequiredRecord> out;
  const std::string host = absolute_name(model.relay.hostname);
  out.push_back({RecordKind::kAddress, host, "", true});
  out.push_back({RecordKind::kSpf, absolute_name(model.relay.srs_domain), "", true});
  for (const ModelDomain& d : model.domains) {
    const std::string name = absolute_name(d.name);
    out.push_back({RecordKind::kMx, name, std::to_string(kMxPreference) + " " + host, true});
    out.push_back({RecordKind::kDmarc, "_dmarc." + name, "v=DMARC1; p=none", false});
  }
  return out;
}

Result<RequiredRecord> ptr_record(const std::string& address, const std::string& hostname) {
  ldns_rdf* addr = nullptr;
  bool v6 = address.find(':') != std::string::npos;
  if (ldns_str2rdf_a(&addr, address.c_str()) != LDNS_STATUS_OK &&
      ldns_str2rdf_aaaa(&addr, address.c_str()) != LDNS_STATUS_OK) {
    return Status::invalid("not an IP address: " + address);
  }
  ldns_rdf_set_type(addr, v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A);
  ldns_rdf* rev = ldns_rdf_address_reverse(addr);
  ldns_rdf_deep_free(addr);
  if (rev == nullptr) return Status::invalid("cannot reverse " + address);
  char* text = ldns_rdf2str(rev);
  ldns_rdf_deep_free(rev);
  if (text == nullptr) return Status::invalid("cannot print the reverse name of " + address);
  std::string name = absolute_name(text);
  free(text);
  return RequiredRecord{RecordKind::kPtr, name, absolute_name(hostname), true};
}

std::string suggested_spf(const std::vector<std::string>& addresses, const std::string& hostname) {
  std::string out = "v=spf1";
  for (const std::string& a : addresses) out += (a.find(':') != std::string::npos ? " ip6:" : " ip4:") + a;
  if (addresses.empty()) {
    std::string host = absolute_name(hostname);
    host.pop_back();
    out += " a:" + host;
  }
  return out + " -all";
}

Result<std::string> zone_line(const std::string& name, DnsType type, const std::string& rdata) {
  std::string data = rdata;
  if (type == DnsType::kTxt) {
    // One character-string holds at most 255 bytes; longer text is split.
    data.clear();
    for (std::size_t i = 0; i < rdata.size() || i == 0; i += 255) {
      std::string part = rdata.substr(i, 255), quoted;
      for (char c : part) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
      }
      data += (i ? " \"" : "\"") + quoted + "\"";
      if (rdata.empty()) break;
    }
  }
  std::string text = name + " " + std::to_string(kSuggestedTtl) + " IN " + to_string(type) + " " + data;
  ldns_rr* rr = nullptr;
  ldns_status st = ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
  if (st != LDNS_STATUS_OK) return Status::invalid(std::string("bad record \"") + text + "\": " + ldns_get_errorstr_by_id(st));
  char* printed = ldns_rr2str(rr);
  ldns_rr_free(rr);
  if (printed == nullptr) return Status::invalid("cannot print \"" + text + "\"");
  std::string out = printed;
  free(printed);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace emailroute
