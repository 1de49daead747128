/* cli_machines: `machines`, the facts targets are matched against. */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "backend.h"
#include "util.h"

#include "banned.h"

int jr_cli_machines(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_buf b = JR_BUF_INIT;
	struct jr_cli_ctx ctx;
	bool json = false;
	size_t i;
	int rc;

	rc = jr_cli_plain_opts(argc, argv, "machines",
			       "\nShows the machines jobs can run on and their facts (arch, os, kernel,\n"
			       "distro, distro_version, hostname, cpus, tags): the values a job's\n"
			       "`targets` are matched against, and the backends configured.\n"
			       "  --json   JSON instead of text\n",
			       &json);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return jr_cli_bad_usage("machines");
	rc = jr_cli_ctx_load(cli, JR_NEED_HOST, &ctx);
	if (rc != JR_EXIT_OK)
		goto out;
	if (json) {
		jr_buf_adds(&b, "[{\"machine\":");
		jr_buf_add_json_str(&b, ctx.host.hostname);
		jr_buf_adds(&b, ",\"backend\":\"local\",\"facts\":{");
		for (i = 0; i < ctx.host.nfacts; i++) {
			if (i)
				jr_buf_addch(&b, ',');
			jr_buf_add_json_str(&b, ctx.host.facts[i].key);
			jr_buf_addch(&b, ':');
			jr_buf_add_json_str(&b, ctx.host.facts[i].value);
		}
		jr_buf_adds(&b, "},\"tags\":");
		jr_buf_add_json_strv(&b, (const char *const *)ctx.host.tags.v, ctx.host.tags.n);
		jr_buf_adds(&b, ",\"backends\":[");
		for (i = 0; i < ctx.cfg.nbackends; i++) {
			jr_buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
			jr_buf_add_json_str(&b, ctx.cfg.backends[i]);
			jr_buf_addf(&b, ",\"available\":%s}",
				    jr_backend_find(ctx.cfg.backends[i]) ? "true" : "false");
		}
		jr_buf_adds(&b, "]}]\n");
		fwrite(b.buf, 1, b.len, stdout);
		goto out;
	}
	printf("%s (this host, backend local)\n", ctx.host.hostname);
	for (i = 0; i < ctx.host.nfacts; i++)
		printf("  %-16s %s\n", ctx.host.facts[i].key, ctx.host.facts[i].value);
	printf("  %-16s ", "tags");
	for (i = 0; i < ctx.host.tags.n; i++)
		printf("%s%s", i ? ", " : "", ctx.host.tags.v[i]);
	printf("%s\n", ctx.host.tags.n ? "" : "(none; set them in [local] tags)");
	printf("\nbackends in preference order (%s):",
	       ctx.cfg.backends_set ? ctx.cfg.path : "built-in default");
	for (i = 0; i < ctx.cfg.nbackends; i++)
		printf(" %s%s", ctx.cfg.backends[i],
		       jr_backend_find(ctx.cfg.backends[i]) ? "" : " (not available in this build)");
	printf("\n");
out:
	jr_buf_release(&b);
	jr_cli_ctx_release(&ctx);
	return rc;
}
