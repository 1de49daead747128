/* libFuzzer target: the job-file loader (YAML reader, validation, the
 * cross-job checks, canonical JSON) on arbitrary bytes. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "jobfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_jobset set = { 0 };
	struct jr_diags diags = { 0 };

	jr_jobset_load_buffer(&set, "fuzz.yaml", (const char *)data, size, "/jobs", &diags);
	jr_jobset_check(&set, &diags);
	jr_jobset_release(&set);
	jr_diags_release(&diags);
	return 0;
}
