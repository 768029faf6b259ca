// How check-dns prints its findings: a line per record, the zone-file lines
// to add (and remove), and a summary; or the same as JSON for machines.
#pragma once

#include <string>
#include <vector>

#include "compiler/dns_check.h"

namespace emailroute::cli {

/// The text report: "STATUS  TYPE  NAME  detail" lines, then the records to
/// add and remove in zone-file form, then the summary line.
std::string dns_report_text(const std::vector<DnsCheck>& checks);

/// {"records":[{name,type,check,status,required,expected,found,note,add,remove}...],"summary":{...},"exit":N}
std::string dns_report_json(const std::vector<DnsCheck>& checks);

/// "7 records: 5 OK, 1 MISSING, 1 WRONG, 0 could not be checked; 1 warning"
std::string dns_summary(const std::vector<DnsCheck>& checks);

}  // namespace emailroute::cli
