// emailroute init DOMAIN --forward-to ADDR: write a commented starter spec and
// a fresh SRS secret beside it.
#include <openssl/rand.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "compiler/atomic_file.h"
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

// A 256-bit secret as 64 hex characters.
Result<std::string> new_secret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::io_error("cannot get random bytes for the SRS secret");
  static const char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : raw) text += {kHex[b >> 4], kHex[b & 15]};
  return text + "\n";
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
  // Both files are replaced atomically; a config that cannot be written takes its new secret with it.
  auto secret_text = new_secret();
  Status written = secret_text.ok() ? write_file_atomically(secret.string(), *secret_text, 0600) : secret_text.status();
  if (written.ok()) {
    written = write_file_atomically(config.string(), text, 0644);
    if (!written.ok()) fs::remove(secret, ec);
  }
  if (!written.ok()) {
    std::cerr << "emailroute: " << written.message() << "\n";
    return kExitUsage;
  }
  std::cout << "wrote " << config.string() << " and " << secret.string() << " (mode 0600, keep it secret)\n\n"
            << "next steps:\n"
            << "  emailroute check " << config.string() << "\n"
            << "  emailroute check-dns " << config.string() << "    # the DNS records to publish\n"
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
