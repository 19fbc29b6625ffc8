// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The page-aliasing risk model. Rules and their reasoning: docs/policy.md.
 *
 * Per VM the model keeps a sorted array of non-overlapping gfn ranges; an
 * install replaces what it covers and merges with equal neighbours, a zap
 * cuts its span out. Memory follows the number of distinct ranges.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "array.h"
#include "policy.h"

static const char *const risk_names[KVMMT_RISK__MAX] = {
	[KVMMT_RISK_NONE] = "none",
	[KVMMT_RISK_GUEST_TYPES] = "guest-types",
	[KVMMT_RISK_LATENT] = "latent",
	[KVMMT_RISK_ALIASING] = "aliasing",
};

const char *kvmmt_risk_name(enum kvmmt_risk r)
{
	return (unsigned int)r < KVMMT_RISK__MAX ? risk_names[r] : "?";
}

int kvmmt_risk_parse(const char *name, enum kvmmt_risk *r)
{
	for (int i = 0; i < KVMMT_RISK__MAX; i++) {
		if (!strcasecmp(name, risk_names[i])) {
			*r = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- host side ---------------------------------------------------------- */

/*
 * Cacheable (WB, WT, WP) against uncacheable (UC, UC-, WC) is the alias the
 * SDM warns about; WC against UC is one too (WC buffers vs strict order).
 * UC and UC- only differ when an MTRR says WC, so they are treated as equal.
 */
bool kvmmt_mt_conflict(enum kvmmt_mt a, enum kvmmt_mt b)
{
	if (a == KVMMT_MT_UC_MINUS)
		a = KVMMT_MT_UC;
	if (b == KVMMT_MT_UC_MINUS)
		b = KVMMT_MT_UC;
	return a != b;
}

/* ---- per-VM state ------------------------------------------------------- */

_Static_assert(offsetof(struct kvmmt_gfn_range, end) == sizeof(__u64),
	       "ranges start with __u64 start, end");

struct kvmmt_policy_vm {
	struct kvmmt_gfn_range *r;
	size_t n, cap;
	struct kvmmt_policy_slot *slots;
	size_t nr_slots, slots_cap;
	const struct kvmmt_hostmap *pat, *maps;
	enum kvmmt_fmt fmt;
	bool quirks_known;
	__u64 disabled_quirks;
	int noncoherent;
	__u64 installs, zaps;
	__u64 installs_by_mt[KVMMT_MT__MAX];
};

struct kvmmt_policy_vm *kvmmt_policy_vm_new(void)
{
	return calloc(1, sizeof(struct kvmmt_policy_vm));
}

void kvmmt_policy_vm_free(struct kvmmt_policy_vm *vm)
{
	if (!vm)
		return;
	free(vm->r);
	free(vm->slots);
	free(vm);
}

static const struct kvmmt_policy_slot *find_slot(const struct kvmmt_policy_vm *vm,
						 __u16 id);

/*
 * The host's type for guest page @gfn of memslot @slot backed by host pfns
 * [@pfn, @pfn + @npfns) (@npfns 0: the pfn is not known): a PAT reservation
 * of those pfns (any inside a large page decides), else a device mapping of
 * the VMM at the memslot's host address; KVMMT_MT__MAX when neither says.
 */
static enum kvmmt_mt host_type(const struct kvmmt_policy_vm *vm, __u16 slot,
			       __u64 gfn, __u64 pfn, __u64 npfns)
{
	const struct kvmmt_policy_slot *s;
	enum kvmmt_mt mt = KVMMT_MT__MAX;
	size_t i;

	if (vm->pat && npfns) {
		mt = kvmmt_hostmap_lookup(vm->pat, pfn, KVMMT_MT__MAX);
		if (mt != KVMMT_MT__MAX)
			return mt;
		i = kvmmt_ranges_first_above(vm->pat->r, vm->pat->n, sizeof(*vm->pat->r), pfn);
		if (npfns > 1 && i < vm->pat->n && vm->pat->r[i].start < pfn + npfns)
			return vm->pat->r[i].mt;
	}
	s = find_slot(vm, slot);
	if (s && s->userspace_addr && vm->maps && gfn >= s->base_gfn &&
	    gfn < s->base_gfn + s->npages)
		mt = kvmmt_hostmap_lookup(vm->maps, (s->userspace_addr >> 12) + gfn - s->base_gfn,
					  KVMMT_MT__MAX);
	return mt;
}

/*
 * New host maps: a reservation or a device mapping that appeared after a
 * page was installed changes what that page aliases with.
 */
static void reeval(struct kvmmt_policy_vm *vm)
{
	enum kvmmt_mt mt;

	for (size_t i = 0; i < vm->n; i++) {
		/* a merged range: only its first page's pfn is known */
		mt = host_type(vm, vm->r[i].slot, vm->r[i].start, vm->r[i].pfn,
			       vm->r[i].pfn ? 1 : 0);
		if (mt == KVMMT_MT__MAX || mt == vm->r[i].host_mt)
			continue;
		vm->r[i].host_mt = mt;
		vm->r[i].conflict = kvmmt_mt_conflict(vm->r[i].mt, mt);
	}
}

/*
 * New host maps, or a memslot seen for the first time or moved: a device
 * mapping known only now changes what installed pages alias with.
 */
void kvmmt_policy_vm_set_host(struct kvmmt_policy_vm *vm,
			      const struct kvmmt_hostmap *pat,
			      const struct kvmmt_hostmap *maps)
{
	vm->pat = pat;
	vm->maps = maps;
	reeval(vm);
}

void kvmmt_policy_vm_set_fmt(struct kvmmt_policy_vm *vm, enum kvmmt_fmt fmt)
{
	vm->fmt = fmt;
}

void kvmmt_policy_quirks(struct kvmmt_policy_vm *vm, __u64 disabled_quirks)
{
	vm->quirks_known = true;
	vm->disabled_quirks = disabled_quirks;
}

static size_t first_above(const struct kvmmt_policy_vm *vm, __u64 gfn)
{
	return kvmmt_ranges_first_above(vm->r, vm->n, sizeof(*vm->r), gfn);
}

/* Cut [s, e) out of the range set; returns where a range at @s belongs. */
static int cut(struct kvmmt_policy_vm *vm, __u64 s, __u64 e, size_t *at)
{
	size_t i = first_above(vm, s), j;

	if (i < vm->n && vm->r[i].start < s && vm->r[i].end > e) {
		if (kvmmt_array_grow((void **)&vm->r, &vm->cap, vm->n + 1, sizeof(*vm->r)))
			return -ENOMEM;
		memmove(&vm->r[i + 1], &vm->r[i], (vm->n - i) * sizeof(*vm->r));
		vm->n++;
		vm->r[i].end = s;
		vm->r[i + 1].start = e;
		vm->r[i + 1].pfn = 0;
		*at = i + 1;
		return 0;
	}
	if (i < vm->n && vm->r[i].start < s) {
		vm->r[i].end = s;
		i++;
	}
	for (j = i; j < vm->n && vm->r[j].end <= e; j++)
		;
	if (j < vm->n && vm->r[j].start < e) {
		vm->r[j].start = e;
		vm->r[j].pfn = 0;
	}
	if (j > i) {
		memmove(&vm->r[i], &vm->r[j], (vm->n - j) * sizeof(*vm->r));
		vm->n -= j - i;
	}
	*at = i;
	return 0;
}

static bool same_kind(const struct kvmmt_gfn_range *a,
		      const struct kvmmt_gfn_range *b)
{
	return a->slot == b->slot && a->mt == b->mt && a->host_mt == b->host_mt &&
	       a->honoured == b->honoured;
}

static int put(struct kvmmt_policy_vm *vm, const struct kvmmt_gfn_range *nr)
{
	size_t at;
	int err;

	err = cut(vm, nr->start, nr->end, &at);
	if (err)
		return err;
	if (at > 0 && vm->r[at - 1].end == nr->start && same_kind(&vm->r[at - 1], nr)) {
		vm->r[at - 1].end = nr->end;
		if (at < vm->n && vm->r[at].start == nr->end && same_kind(&vm->r[at], nr)) {
			vm->r[at - 1].end = vm->r[at].end;
			memmove(&vm->r[at], &vm->r[at + 1], (vm->n - at - 1) * sizeof(*vm->r));
			vm->n--;
		}
		return 0;
	}
	if (at < vm->n && vm->r[at].start == nr->end && same_kind(&vm->r[at], nr)) {
		vm->r[at].start = nr->start;
		vm->r[at].pfn = nr->pfn;
		return 0;
	}
	if (kvmmt_array_grow((void **)&vm->r, &vm->cap, vm->n + 1, sizeof(*vm->r)))
		return -ENOMEM;
	memmove(&vm->r[at + 1], &vm->r[at], (vm->n - at) * sizeof(*vm->r));
	vm->r[at] = *nr;
	vm->n++;
	return 0;
}

static int level_pages(int level, __u64 *pages)
{
	if (level == 0)
		level = 1;
	if (level < 1 || level > 5)
		return -EINVAL;
	*pages = 1ULL << (9 * (level - 1));
	return 0;
}

static const struct kvmmt_policy_slot *find_slot(const struct kvmmt_policy_vm *vm,
						 __u16 id)
{
	for (size_t i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].id == id)
			return &vm->slots[i];
	return NULL;
}


int kvmmt_policy_install(struct kvmmt_policy_vm *vm,
			 const struct kvmmt_install *in, struct kvmmt_err *e)
{
	struct kvmmt_gfn_range nr;
	__u64 pages;

	if (level_pages(in->level, &pages))
		return kvmmt_errf(e, -EINVAL, "install at gfn 0x%llx has invalid level %u",
				  (unsigned long long)in->gfn, in->level);
	if ((unsigned int)in->ma.mt >= KVMMT_MT__MAX)
		return kvmmt_errf(e, -EINVAL, "install at gfn 0x%llx has invalid memory type %d",
				  (unsigned long long)in->gfn, in->ma.mt);
	nr.start = in->gfn & ~(pages - 1);
	nr.end = nr.start + pages;
	nr.slot = in->slot;
	nr.mt = in->ma.mt;
	nr.pfn = in->pfn;
	nr.host_mt = host_type(vm, in->slot, in->gfn, in->pfn, pages);
	if (nr.host_mt == KVMMT_MT__MAX)
		nr.host_mt = KVMMT_MT_WB;	/* ordinary RAM in the direct map */
	nr.honoured = in->ma.guest_honoured;
	nr.conflict = kvmmt_mt_conflict(nr.mt, nr.host_mt);
	if (put(vm, &nr))
		return kvmmt_errf(e, -ENOMEM, "out of memory recording an install");
	vm->installs++;
	vm->installs_by_mt[nr.mt]++;
	return 0;
}

int kvmmt_policy_restore(struct kvmmt_policy_vm *vm, const struct kvmmt_gfn_range *r,
			 struct kvmmt_err *e)
{
	struct kvmmt_gfn_range nr = *r;

	if (r->start >= r->end || (unsigned int)r->mt >= KVMMT_MT__MAX ||
	    (unsigned int)r->host_mt >= KVMMT_MT__MAX)
		return kvmmt_errf(e, -EINVAL, "saved range gfn 0x%llx-0x%llx is invalid",
				  (unsigned long long)r->start, (unsigned long long)r->end);
	nr.conflict = kvmmt_mt_conflict(nr.mt, nr.host_mt);
	if (put(vm, &nr))
		return kvmmt_errf(e, -ENOMEM, "out of memory restoring a range");
	return 0;
}

int kvmmt_policy_zap(struct kvmmt_policy_vm *vm, __u64 gfn, int level,
		     struct kvmmt_err *e)
{
	__u64 pages;
	size_t at;

	if (level_pages(level, &pages))
		return kvmmt_errf(e, -EINVAL, "zap at gfn 0x%llx has invalid level %d",
				  (unsigned long long)gfn, level);
	gfn &= ~(pages - 1);
	if (cut(vm, gfn, gfn + pages, &at))
		return kvmmt_errf(e, -ENOMEM, "out of memory recording a zap");
	vm->zaps++;
	return 0;
}

void kvmmt_policy_noncoherent(struct kvmmt_policy_vm *vm, int count)
{
	vm->noncoherent = count;
}

int kvmmt_policy_slot(struct kvmmt_policy_vm *vm,
		      const struct kvmmt_policy_slot *s, struct kvmmt_err *e)
{
	size_t i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].id == s->id)
			break;
	if (!s->npages) {
		if (i < vm->nr_slots)
			vm->slots[i] = vm->slots[--vm->nr_slots];
		return 0;
	}
	if (i < vm->nr_slots && !memcmp(&vm->slots[i], s, sizeof(*s)))
		return 0;
	if (i == vm->nr_slots) {
		if (kvmmt_array_grow((void **)&vm->slots, &vm->slots_cap, i + 1, sizeof(*s)))
			return kvmmt_errf(e, -ENOMEM, "out of memory recording a memslot");
		vm->nr_slots++;
	}
	vm->slots[i] = *s;
	reeval(vm);
	return 0;
}

int kvmmt_policy_set_slots(struct kvmmt_policy_vm *vm,
			   const struct kvmmt_policy_slot *s, size_t n,
			   struct kvmmt_err *e)
{
	if (kvmmt_array_grow((void **)&vm->slots, &vm->slots_cap, n, sizeof(*s)))
		return kvmmt_errf(e, -ENOMEM, "out of memory recording memslots");
	if (n)
		memcpy(vm->slots, s, n * sizeof(*s));
	vm->nr_slots = n;
	reeval(vm);
	return 0;
}

int kvmmt_policy_set_slot_recs(struct kvmmt_policy_vm *vm,
			       const struct kvmmt_slot_rec *recs, size_t n,
			       struct kvmmt_err *e)
{
	bool same = n == vm->nr_slots;

	if (kvmmt_array_grow((void **)&vm->slots, &vm->slots_cap, n, sizeof(*vm->slots)))
		return kvmmt_errf(e, -ENOMEM, "out of memory recording memslots");
	for (size_t i = 0; i < n; i++) {
		struct kvmmt_policy_slot s = {
			.id = recs[i].id, .as_id = recs[i].as_id, .flags = recs[i].flags,
			.base_gfn = recs[i].base_gfn, .npages = recs[i].npages,
			.userspace_addr = recs[i].userspace_addr,
		};

		same = same && !memcmp(&vm->slots[i], &s, sizeof(s));
		vm->slots[i] = s;
	}
	vm->nr_slots = n;
	if (!same)	/* a memslot known only now changes host types */
		reeval(vm);
	return 0;
}

int kvmmt_policy_slot_flags(struct kvmmt_policy_vm *vm, __u16 id, __u32 flags,
			    struct kvmmt_err *e)
{
	struct kvmmt_policy_slot s = { .id = id, .flags = flags, .npages = ~0ULL };
	const struct kvmmt_policy_slot *old = find_slot(vm, id);

	/* A flag change for a slot the iterator has not shown yet: keep the flags. */
	if (old) {
		s = *old;
		s.flags = flags;
	}
	return kvmmt_policy_slot(vm, &s, e);
}

static const char *const why_names[KVMMT_WHY__BITS] = {
	"install-without-ipat", "noncoherent-dma", "noncoherent-slot",
	"ignore-guest-pat-quirk-disabled", "device-memory", "architecture",
};

const char *kvmmt_why_name(unsigned int bit)
{
	for (unsigned int i = 0; i < KVMMT_WHY__BITS; i++)
		if (bit == 1u << i)
			return why_names[i];
	return NULL;
}

/*
 * The rules per backend, with their reasoning, are in docs/policy.md:
 * shadow paging and FWB force the host's type; EPT honours the guest's
 * type only without IPAT (noncoherent DMA, the quirk disabled, a flagged
 * slot, MMIO); NPT and stage 2 without FWB always combine the guest's type
 * with KVM's, which on coherent write-back RAM is harmless.
 */
unsigned int kvmmt_guest_types(const struct kvmmt_gt_facts *f, enum kvmmt_gt *level)
{
	unsigned int why = 0;

	if (f->device_slot)
		why |= KVMMT_WHY_DEVICE;
	switch (f->fmt) {
	case KVMMT_FMT_SHADOW:
		break;
	case KVMMT_FMT_NPT:
	case KVMMT_FMT_S2:
		why |= KVMMT_WHY_ARCH;
		if (f->noncoherent > 0)
			why |= KVMMT_WHY_NONCOHERENT;
		if (f->flagged_slot)
			why |= KVMMT_WHY_SLOT;
		break;
	case KVMMT_FMT_S2_FWB:
		if (f->install_honoured)
			why |= KVMMT_WHY_INSTALL;
		if (f->flagged_slot)
			why |= KVMMT_WHY_SLOT;
		break;
	default:	/* EPT, or not known: every VMX rule applies */
		if (f->install_honoured)
			why |= KVMMT_WHY_INSTALL;
		if (f->noncoherent > 0)
			why |= KVMMT_WHY_NONCOHERENT;
		if (f->flagged_slot)
			why |= KVMMT_WHY_SLOT;
		if (f->quirks_known && (f->disabled_quirks & KVMMT_QUIRK_IGNORE_GUEST_PAT))
			why |= KVMMT_WHY_QUIRK;
		break;
	}
	if (level)
		*level = why & ~KVMMT_WHY_ARCH ? KVMMT_GT_YES :
			 why ? KVMMT_GT_ARCH : KVMMT_GT_NO;
	return why;
}

const char *kvmmt_gt_name(enum kvmmt_gt level)
{
	static const char *const names[] = { "no", "arch", "yes" };

	return (unsigned int)level < 3 ? names[level] : "?";
}

/* The device memory behind memslot @s, from the VMM's mappings: its type. */
static bool slot_device(const struct kvmmt_policy_vm *vm,
			const struct kvmmt_policy_slot *s, enum kvmmt_mt *mt)
{
	__u64 first = s->userspace_addr >> 12, end = first + s->npages;
	size_t i;

	if (!vm->maps || !s->userspace_addr || !s->npages)
		return false;
	i = kvmmt_ranges_first_above(vm->maps->r, vm->maps->n, sizeof(*vm->maps->r), first);
	if (i >= vm->maps->n || vm->maps->r[i].start >= end)
		return false;
	*mt = vm->maps->r[i].mt;
	return true;
}

void kvmmt_policy_summary(const struct kvmmt_policy_vm *vm,
			  struct kvmmt_policy_summary *s)
{
	struct kvmmt_gt_facts f = {
		.fmt = vm->fmt,
		.noncoherent = vm->noncoherent,
		.quirks_known = vm->quirks_known,
		.disabled_quirks = vm->disabled_quirks,
	};
	enum kvmmt_mt mt;

	memset(s, 0, sizeof(*s));
	s->noncoherent = vm->noncoherent;
	s->nr_ranges = vm->n;
	s->installs = vm->installs;
	s->zaps = vm->zaps;
	memcpy(s->installs_by_mt, vm->installs_by_mt, sizeof(s->installs_by_mt));
	for (size_t i = 0; i < vm->n; i++) {
		if (vm->r[i].honoured)
			f.install_honoured = true;
		if (vm->r[i].conflict) {
			s->nr_conflicts++;
			s->conflict_pages += vm->r[i].end - vm->r[i].start;
		}
	}
	for (size_t i = 0; i < vm->nr_slots; i++) {
		if (vm->slots[i].flags & KVMMT_MEM_NON_COHERENT_DMA)
			f.flagged_slot = true;
		if (!slot_device(vm, &vm->slots[i], &mt))
			continue;
		f.device_slot = true;
		if (s->nr_device_slots < KVMMT_MAX_DEVICE_SLOTS) {
			s->device[s->nr_device_slots].id = vm->slots[i].id;
			s->device[s->nr_device_slots].host_mt = mt;
		}
		s->nr_device_slots++;
	}
	s->why = kvmmt_guest_types(&f, &s->guest_types);
	if (s->nr_conflicts)
		s->risk = KVMMT_RISK_ALIASING;
	else if (s->guest_types == KVMMT_GT_YES)
		s->risk = KVMMT_RISK_LATENT;
	else if (s->guest_types == KVMMT_GT_ARCH)
		s->risk = KVMMT_RISK_GUEST_TYPES;
	else
		s->risk = KVMMT_RISK_NONE;
}

static size_t why_text(const struct kvmmt_policy_summary *s, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
#define ADD(...) (len += len < n ? snprintf(buf + len, n - len, __VA_ARGS__) : 0)
	if (s->why & KVMMT_WHY_NONCOHERENT)
		ADD("%snoncoherent DMA count %d", len ? ", " : "", s->noncoherent);
	if (s->why & KVMMT_WHY_SLOT)
		ADD("%sa memslot flagged for noncoherent DMA", len ? ", " : "");
	if (s->why & KVMMT_WHY_QUIRK)
		ADD("%sKVM_X86_QUIRK_IGNORE_GUEST_PAT disabled", len ? ", " : "");
	if (s->why & KVMMT_WHY_DEVICE)
		ADD("%smemslot %u backed by device memory the host maps %s",
		    len ? ", " : "", s->device[0].id, kvmmt_mt_name(s->device[0].host_mt));
	if (s->why & KVMMT_WHY_INSTALL)
		ADD("%sEPT entries without IPAT", len ? ", " : "");
#undef ADD
	return len;
}

void kvmmt_policy_describe(const struct kvmmt_policy_summary *s, char *buf,
			   size_t n)
{
	char why[256];

	why_text(s, why, sizeof(why));
	switch (s->risk) {
	case KVMMT_RISK_NONE:
		snprintf(buf, n, "guest memory types cannot take effect: every mapping gets the host's type");
		break;
	case KVMMT_RISK_GUEST_TYPES:
		snprintf(buf, n, "the architecture combines the guest's memory types with KVM's (NPT or stage 2), on coherent write-back RAM only");
		break;
	case KVMMT_RISK_LATENT:
		snprintf(buf, n, "guest memory types take effect (%s), no conflicting host mapping seen", why);
		break;
	default:
		snprintf(buf, n, "%llu guest pages in %zu ranges mapped with a type that conflicts with the host's",
			 (unsigned long long)s->conflict_pages, s->nr_conflicts);
		break;
	}
}

size_t kvmmt_policy_nr_ranges(const struct kvmmt_policy_vm *vm)
{
	return vm->n;
}

const struct kvmmt_gfn_range *kvmmt_policy_range(const struct kvmmt_policy_vm *vm,
						 size_t i)
{
	return i < vm->n ? &vm->r[i] : NULL;
}

int kvmmt_policy_event(struct kvmmt_policy_vm *vm, const struct kvmmt_event *ev,
		       enum kvmmt_fmt fmt, __u64 host_pat, struct kvmmt_err *e)
{
	struct kvmmt_install in;
	int err;

	vm->fmt = fmt;
	switch (ev->type) {
	case KVMMT_EV_INSTALL:
		memset(&in, 0, sizeof(in));
		in.gfn = ev->gfn;
		in.pfn = ev->pfn;
		in.slot = ev->slot;
		in.level = ev->level;
		err = kvmmt_attr_decode(fmt, ev->attr, host_pat, &in.ma);
		if (err)
			return kvmmt_errf(e, err, "cannot decode memory-type bits 0x%x for %s",
					  ev->attr, kvmmt_fmt_name(fmt));
		return kvmmt_policy_install(vm, &in, e);
	case KVMMT_EV_ZAP:
		if (ev->spte)	/* a leaf SPTE of that level */
			return kvmmt_policy_zap(vm, ev->gfn, ev->level, e);
		/*
		 * A whole shadow page: a direct one (TDP) maps 512 entries of
		 * its level from gfn on; an indirect one (shadow paging) maps
		 * gfns its gfn does not tell, so its state is kept (fail closed).
		 */
		if (fmt == KVMMT_FMT_SHADOW) {
			vm->zaps++;
			return 0;
		}
		return kvmmt_policy_zap(vm, ev->gfn, ev->level + 1, e);
	case KVMMT_EV_NONCOHERENT:
		kvmmt_policy_noncoherent(vm, ev->value);
		return 0;
	case KVMMT_EV_MEMSLOT:
		return kvmmt_policy_slot_flags(vm, ev->slot, (__u32)ev->spte, e);
	default:
		return kvmmt_errf(e, -EINVAL, "unknown event type %u", ev->type);
	}
}
