/* Unit tests for machine.c: facts against the real uname and os-release,
 * target matching and its messages, canonical target JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "machine.h"
#include "util.h"

/* The value of KEY in an os-release file, unquoted the simple way (the
 * files on test hosts quote with plain double quotes or not at all). */
static char *os_release_value(const char *key)
{
	char line[512], *v, *end;
	size_t klen = strlen(key);
	FILE *f = fopen("/etc/os-release", "re");

	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		v = line + klen + 1;
		v[strcspn(v, "\n")] = '\0';
		if (*v == '"' || *v == '\'') {
			end = strrchr(v + 1, *v);
			if (end)
				*end = '\0';
			v++;
		}
		fclose(f);
		return jr_xstrdup(v);
	}
	fclose(f);
	return NULL;
}

static void test_detect(void **state)
{
	struct jr_machine m;
	struct jr_err err = JR_ERR_INIT;
	struct utsname u;
	char *tags[] = { "gpu", "ssd" };
	char *id, *vid, buf[32];
	size_t i;

	(void)state;
	assert_int_equal(uname(&u), 0);
	assert_int_equal(jr_machine_detect(&m, tags, 2, &err), 0);
	assert_string_equal(m.hostname, u.nodename);
	assert_string_equal(jr_machine_fact(&m, "hostname"), u.nodename);
	assert_string_equal(jr_machine_fact(&m, "arch"), u.machine);
	assert_string_equal(jr_machine_fact(&m, "kernel"), u.release);
	assert_string_equal(jr_machine_fact(&m, "os"), "linux");
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	assert_string_equal(jr_machine_fact(&m, "cpus"), buf);
	id = os_release_value("ID");
	vid = os_release_value("VERSION_ID");
	assert_string_equal(jr_machine_fact(&m, "distro"), id ? id : "linux");
	if (vid)
		assert_string_equal(jr_machine_fact(&m, "distro_version"), vid);
	else
		assert_null(jr_machine_fact(&m, "distro_version"));
	free(id);
	free(vid);
	assert_null(jr_machine_fact(&m, "nosuch"));
	for (i = 1; i < m.nfacts; i++)
		assert_true(strcmp(m.facts[i - 1].key, m.facts[i].key) < 0);
	assert_int_equal(m.tags.n, 2);
	assert_string_equal(m.tags.v[0], "gpu");
	assert_string_equal(m.tags.v[1], "ssd");
	assert_null(m.tags.v[2]);
	tags[0] = NULL; /* copied, not borrowed */
	assert_string_equal(m.tags.v[0], "gpu");
	jr_machine_release(&m);
	jr_machine_release(&m);

	assert_int_equal(jr_machine_detect(&m, NULL, 0, &err), 0);
	assert_int_equal(m.tags.n, 0);
	assert_null(m.tags.v[0]);
	jr_machine_release(&m);
}

static void test_matches(void **state)
{
	struct jr_machine m;
	struct jr_err err = JR_ERR_INIT;
	char *tags[] = { "a", "b" };
	struct jr_kv facts[2];
	char *ttags[3] = { NULL, NULL, NULL };
	struct jr_target t = { facts, 0, { ttags, 0 } };
	char why[256], other[64], arch[64], distro[64];

	(void)state;
	assert_int_equal(jr_machine_detect(&m, tags, 2, &err), 0);
	snprintf(distro, sizeof(distro), "%s", jr_machine_fact(&m, "distro"));
	snprintf(arch, sizeof(arch), "%s", jr_machine_fact(&m, "arch"));

	/* any machine */
	snprintf(why, sizeof(why), "junk");
	assert_true(jr_machine_matches(&m, &t, why, sizeof(why)));
	assert_string_equal(why, "");

	/* equal facts */
	facts[0].key = "arch";
	facts[0].value = arch;
	facts[1].key = "distro";
	facts[1].value = distro;
	t.nfacts = 2;
	assert_true(jr_machine_matches(&m, &t, why, sizeof(why)));

	/* one differs */
	snprintf(other, sizeof(other), "%s", strcmp(distro, "fedora") ? "fedora" : "debian");
	facts[1].value = other;
	assert_false(jr_machine_matches(&m, &t, why, sizeof(why)));
	{
		char want[256];

		snprintf(want, sizeof(want), "distro=%s (this host has %s)", other, distro);
		assert_string_equal(why, want);
	}
	assert_false(jr_machine_matches(&m, &t, NULL, 0));

	/* unknown fact */
	facts[1].key = "foo";
	facts[1].value = "1";
	assert_false(jr_machine_matches(&m, &t, why, sizeof(why)));
	assert_string_equal(why, "fact 'foo' (this host has no such fact)");

	/* tags: subset */
	t.nfacts = 0;
	ttags[0] = "b";
	t.tags.n = 1;
	assert_true(jr_machine_matches(&m, &t, why, sizeof(why)));
	ttags[1] = "a";
	t.tags.n = 2;
	assert_true(jr_machine_matches(&m, &t, why, sizeof(why)));
	ttags[1] = "gpu";
	assert_false(jr_machine_matches(&m, &t, why, sizeof(why)));
	assert_string_equal(why, "tag gpu (this host has: a, b)");
	/* truncation is safe */
	assert_false(jr_machine_matches(&m, &t, why, 5));
	assert_string_equal(why, "tag ");
	jr_machine_release(&m);

	assert_int_equal(jr_machine_detect(&m, NULL, 0, &err), 0);
	assert_false(jr_machine_matches(&m, &t, why, sizeof(why)));
	assert_string_equal(why, "tag b (this host has no tags)");
	jr_machine_release(&m);
}

static void test_target_json(void **state)
{
	struct jr_kv facts[3] = { { "arch", "x86_64" }, { "distro", "de\"b" }, { "x", "1" } };
	char *tags[] = { "z", "gpu", NULL };
	struct jr_target t = { NULL, 0, { NULL, 0 } };
	char *s;

	(void)state;
	s = jr_target_json(&t);
	assert_string_equal(s, "{}");
	free(s);

	t.facts = facts;
	t.nfacts = 3;
	s = jr_target_json(&t);
	assert_string_equal(s, "{\"arch\":\"x86_64\",\"distro\":\"de\\\"b\",\"x\":\"1\"}");
	free(s);

	t.tags.v = tags;
	t.tags.n = 2;
	s = jr_target_json(&t);
	assert_string_equal(
		s, "{\"arch\":\"x86_64\",\"distro\":\"de\\\"b\",\"tags\":[\"gpu\",\"z\"],\"x\":\"1\"}");
	free(s);
	/* input order of tags untouched */
	assert_string_equal(tags[0], "z");

	t.nfacts = 2;
	s = jr_target_json(&t);
	assert_string_equal(s, "{\"arch\":\"x86_64\",\"distro\":\"de\\\"b\",\"tags\":[\"gpu\",\"z\"]}");
	free(s);

	t.nfacts = 0;
	s = jr_target_json(&t);
	assert_string_equal(s, "{\"tags\":[\"gpu\",\"z\"]}");
	free(s);
}

static void check_os_release(const char *text, const char *want_id, const char *want_vid)
{
	char path[] = "/tmp/jr-test-osrel-XXXXXX";
	char *id = NULL, *vid = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(jr_machine_read_os_release(path, &id, &vid), 0);
	unlink(path);
	if (want_id)
		assert_string_equal(id, want_id);
	else
		assert_null(id);
	if (want_vid)
		assert_string_equal(vid, want_vid);
	else
		assert_null(vid);
	free(id);
	free(vid);
}

static void test_os_release(void **state)
{
	char *id = NULL, *vid = NULL;

	(void)state;
	check_os_release("NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n", "debian", "12");
	check_os_release("ID='opensuse-leap'\nVERSION_ID='15.5'", "opensuse-leap", "15.5");
	check_os_release("# comment\n  ID=\"we\\\"ird\\\\x\"\nVERSION_ID=1 trailing\n", "we\"ird\\x",
			 "1");
	check_os_release("IDX=no\nMY_ID=no\nVERSION=12\n", NULL, NULL);
	check_os_release("ID=\nVERSION_ID=\"\"\nID=\"unterminated\n", "unterminated", NULL);
	check_os_release("ID=a\nID=b\n", "b", NULL);
	check_os_release("", NULL, NULL);
	assert_int_equal(jr_machine_read_os_release("/nonexistent/os-release", &id, &vid), -1);
	assert_null(id);
	assert_null(vid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_target_json),
		cmocka_unit_test(test_os_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
