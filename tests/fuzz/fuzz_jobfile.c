/* libFuzzer target: the job-file loader (YAML reader, validation, the
 * cross-job checks, canonical JSON, redaction, the next cron minute) on
 * arbitrary bytes. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jobfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_jobset set = {0};
	struct jr_diags diags = {0};

	jr_jobset_load_buffer(&set, "fuzz.yaml", (const char *)data, size, "/jobs", &diags);
	jr_jobset_check(&set, &diags);
	for (size_t i = 0; i < set.n; i++) {
		struct jr_job *job = set.jobs[i];
		char *r;

		/* The schedule's next minute, from a fixed instant (2024-01-01 UTC). */
		if (job->schedule)
			jr_cron_next(&job->cron, 1704067200);
		r = jr_job_redact_dup(job, job->canonical_json, NULL);
		free(r);
	}
	jr_jobset_release(&set);
	jr_diags_release(&diags);
	return 0;
}
