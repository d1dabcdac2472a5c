// SPDX-License-Identifier: GPL-2.0
/*
 * insn_profile - a QEMU TCG plugin (plugin API 1, QEMU 7.2): guest kernel
 * instructions executed per translation block address, written out each
 * time the guest runs the block at the marker address, so that two
 * markers bracket exactly what the guest did between them.
 *
 *   -plugin ./insn_profile.so,marker=0xffffffff81234560,out=/tmp/prof
 *
 * writes /tmp/prof.1, /tmp/prof.2, ...: one line "vaddr instructions" per
 * kernel block executed so far (cumulative).  The guest marks with a
 * system call no one else makes (bench/profile/call_loop.c: getppid()).
 *
 * Only the few declarations of qemu-plugin.h this needs are here: Debian
 * ships QEMU with plugin support but not the header.
 *
 * Build: gcc -shared -fPIC -O2 -o insn_profile.so insn_profile.c
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
		void (*cb)(unsigned int vcpu, void *udata),
		enum qemu_plugin_cb_flags flags, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define KERNEL_START	0xffff800000000000ULL
#define SLOTS		(1u << 20)	/* distinct kernel block addresses */

/* One counter per block address; a block translated again shares it. */
static struct slot {
	uint64_t vaddr;
	uint64_t insns;
} *slots;
static uint64_t marker;
static char out[4096];
static unsigned int snapshots;

static struct slot *slot_of(uint64_t vaddr)
{
	uint64_t h = (vaddr * 0x9e3779b97f4a7c15ULL) >> 44;

	for (;; h = (h + 1) & (SLOTS - 1)) {
		if (slots[h].vaddr == vaddr)
			return &slots[h];
		if (!slots[h].vaddr) {
			slots[h].vaddr = vaddr;
			return &slots[h];
		}
	}
}

static void snapshot(unsigned int vcpu, void *udata)
{
	char path[4200];
	unsigned int i;
	FILE *f;

	(void)vcpu;
	(void)udata;
	snprintf(path, sizeof(path), "%s.%u", out, ++snapshots);
	f = fopen(path, "w");
	if (!f)
		return;
	for (i = 0; i < SLOTS; i++)
		if (slots[i].insns)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", slots[i].vaddr,
				slots[i].insns);
	fclose(f);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);

	(void)id;
	if (vaddr < KERNEL_START)
		return;
	if (vaddr == marker)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, snapshot,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &slot_of(vaddr)->insns,
						 qemu_plugin_tb_n_insns(tb));
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "marker=", 7))
			marker = strtoull(argv[i] + 7, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			snprintf(out, sizeof(out), "%s", argv[i] + 4);
	}
	if (!marker || !out[0]) {
		fprintf(stderr, "insn_profile: needs marker=0xADDR,out=PATH\n");
		return -1;
	}
	slots = calloc(SLOTS, sizeof(*slots));
	if (!slots)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	return 0;
}
