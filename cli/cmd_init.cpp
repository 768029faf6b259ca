// emailroute init DOMAIN --forward-to ADDR: write a commented starter spec and
// a fresh SRS secret beside it.
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "compiler/compile.h"
#include "runtime/address.h"

namespace emailroute::cli {
namespace {

struct Options {
  std::string domain, forward_to, output = "emailroute.toml", hostname;
  bool force = false;
};

std::string starter_config(const Options& o) {
  return "# emailroute routing spec: see emailroute.toml(5).\n"
         "# Check it with `emailroute check`, compile it with `emailroute compile -o TABLE`.\n"
         "\n"
         "[relay]\n"
         "hostname = \"" + o.hostname + "\"        # publish this as the MX of your domains\n"
         "listen = [\"0.0.0.0:25\", \"[::]:25\"]\n"
         "srs_domain = \"" + o.domain + "\"         # forwarded senders are rewritten into this domain (SRS)\n"
         "srs_secret_file = \"srs.key\"     # keep it secret; relative to this file\n"
         "max_message_size = \"25MiB\"\n"
         "max_recipients = 100\n"
         "# deliver_via = \"192.0.2.7:25\"   # send everything through a smarthost instead of the MX\n"
         "\n"
         "[domains.\"" + o.domain + "\"]\n"
         "catch_all = \"" + o.forward_to + "\"   # every address not listed below\n"
         "subaddress_separator = \"+\"      # sales+news@ goes where sales@ goes\n"
         "\n"
         "[domains.\"" + o.domain + "\".addresses]\n"
         "# sales = \"you@example.net\"                        # one inbox\n"
         "# support = [\"you@example.net\", \"them@example.org\"]  # several\n"
         "# noreply = { action = \"drop\" }                     # accept and discard\n"
         "# \"old-*\" = { action = \"reject\", message = \"This address is retired\" }\n";
}

// A 256-bit secret as 64 hex characters, written only if `path` is new (or --force).
Status write_secret(const std::string& path, bool force) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::io_error("cannot get random bytes for the SRS secret");
  static const char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : raw) text += {kHex[b >> 4], kHex[b & 15]};
  text += "\n";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0600);
  if (fd < 0) return Status::io_error("cannot create " + path + ": " + std::strerror(errno));
  bool ok = fchmod(fd, 0600) == 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok) return Status::io_error("cannot write " + path + ": " + std::strerror(errno));
  return Status();
}

Status write_config(const std::string& path, const std::string& text, bool force) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
  if (fd < 0) return Status::io_error("cannot create " + path + ": " + std::strerror(errno));
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = close(fd) == 0 && ok;
  if (!ok) return Status::io_error("cannot write " + path + ": " + std::strerror(errno));
  return Status();
}

int run_init(const Options& o) {
  namespace fs = std::filesystem;
  fs::path config(o.output);
  fs::path secret = config.parent_path() / "srs.key";
  // Refuse anything that is not a plain domain and address before it goes into the template.
  if (Status s = check_domain(o.domain); !s.ok()) {
    std::cerr << "emailroute: " << o.domain << " is not a domain name: " << s.message() << "\n";
    return kExitUsage;
  }
  if (auto box = parse_mailbox(o.forward_to); !box.ok() || box->quoted) {
    std::cerr << "emailroute: " << o.forward_to << " is not an address"
              << (box.ok() ? "" : ": " + box.status().message()) << "\n";
    return kExitUsage;
  }
  std::string text = starter_config(o);
  // Check what we are about to write, so a bad domain or address is caught here.
  CompileOutcome out = compile_source(text, o.output, fs::absolute(config).parent_path().string());
  if (!out.ok()) {
    std::cerr << out.render_errors() << "emailroute: nothing written: fix the domain or address given\n";
    return kExitInvalid;
  }
  std::error_code ec;
  for (const fs::path& p : {config, secret}) {
    if (!o.force && fs::exists(p, ec)) {
      std::cerr << "emailroute: " << p.string() << " exists; nothing written (use --force to overwrite)\n";
      return kExitUsage;
    }
  }
  if (Status s = write_secret(secret.string(), o.force); !s.ok()) {
    std::cerr << "emailroute: " << s.message() << "\n";
    return kExitUsage;
  }
  if (Status s = write_config(config.string(), text, o.force); !s.ok()) {
    std::cerr << "emailroute: " << s.message() << "\n";
    return kExitUsage;
  }
  std::cout << "wrote " << config.string() << " and " << secret.string() << " (mode 0600, keep it secret)\n\n"
            << "next steps:\n"
            << "  emailroute check " << config.string() << "\n"
            << "  emailroute compile " << config.string() << " -o emailroute.table\n"
            << "  emailroute route postmaster@" << o.domain << " --config " << config.string() << "\n"
            << "  emailroute serve --table emailroute.table\n";
  return kExitOk;
}

}  // namespace

void add_init_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("init", "Write a starter emailroute.toml and a fresh SRS secret");
  auto opts = std::make_shared<Options>();
  cmd->add_option("DOMAIN", opts->domain, "The domain to route, e.g. example.com")->required();
  cmd->add_option("--forward-to", opts->forward_to, "Where its mail goes, e.g. you@gmail.com")->required();
  cmd->add_option("-o,--output", opts->output, "The spec to write")->capture_default_str();
  cmd->add_option("--hostname", opts->hostname, "This relay's name (default: mx.DOMAIN)");
  cmd->add_flag("--force", opts->force, "Overwrite the spec and the secret if they exist");
  cmd->callback([&run, opts] {
    if (opts->hostname.empty()) opts->hostname = "mx." + opts->domain;
    run = [opts] { return run_init(*opts); };
  });
}

}  // namespace emailroute::cli
