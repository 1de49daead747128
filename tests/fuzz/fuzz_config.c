/* libFuzzer target: the ini loader over arbitrary bytes. Every input must
 * either load or fail with a "NAME:LINE: " message, and never leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;

	if (jr_config_load_buffer(&cfg, "fuzz.ini", (const char *)data, size, "/fuzz", &err) == 0) {
		if (!cfg.jobs_dir || !cfg.database || !cfg.log_dir || !cfg.image_dir ||
		    cfg.nbackends == 0 || cfg.backends[cfg.nbackends] != NULL || cfg.parallel < 1 ||
		    cfg.parallel > 1024)
			abort();
		jr_config_release(&cfg);
	} else if (strncmp(err.msg, "fuzz.ini:", 9) != 0) {
		abort();
	}
	return 0;
}
