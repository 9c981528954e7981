# bpfscope: one build for every tool.  Adding a tool = one word in TOOLS.
TOOLS := mapstat xdpverdict tcpchrono wbtstat tailcalls fibstat tcverdict

ARCH ?= x86
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
# SAN=address builds an ASan/UBSan variant (the test suite uses build/asan).
SAN ?=

CFLAGS ?= -O2 -g
override CFLAGS += -Wall -Wextra -std=gnu11 -I$(BUILD) -Icommon -Ibpf
# header dependencies tracked per object (build/**/*.d): touching one header
# rebuilds what includes it, not everything
DEPFLAGS = -MMD -MP
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN),undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN),undefined
endif
LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	-Ivmlinux/$(ARCH) -Ibpf

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(patsubst common/%.c,$(BUILD)/common/%.o,$(COMMON_SRC))
# the engine every tool links, as a static library
COMMON_LIB := $(BUILD)/libbpfscope.a

.PHONY: all deps test unit integration vmtest bench demo install clean vmlinux lint compile_commands.json
.DELETE_ON_ERROR:
.SECONDARY:

all: $(addprefix $(BUILD)/,$(TOOLS))

$(BUILD) $(BUILD)/common:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c vmlinux/$(ARCH)/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<))_bpf > $@

$(BUILD)/common/%.o: common/%.c | $(BUILD)/common
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $^

# common/maplist.c embeds its own BPF object (the map iterator).
$(BUILD)/common/maplist.o: $(BUILD)/maplist.skel.h

# A tool is tools/TOOL.c, or tools/TOOL/*.c when it has modules of its own
# (compiled with -Itools/TOOL).  Every tool object may include any skeleton.
# (tcverdict_pcpu: tcverdict's fexit copies for kernels before 6.11)
SKELS := $(patsubst %,$(BUILD)/%.skel.h,$(TOOLS) tcverdict_pcpu)
tool_objs = $(patsubst tools/%.c,$(BUILD)/tools/%.o,$(wildcard tools/$(1).c tools/$(1)/*.c))

$(BUILD)/tools/%.o: tools/%.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itools/$(firstword $(subst /, ,$*)) -c $< -o $@

define tool_link
$(BUILD)/$(1): $(call tool_objs,$(1)) $(COMMON_LIB)
	$$(CC) $$(LDFLAGS) $$^ $$(LIBS) -o $$@
endef
$(foreach t,$(TOOLS),$(eval $(call tool_link,$(t))))

# Test fixtures and helpers (tests/fixtures/*.bpf.c, tests/lib/*.c).
FIXTURES := $(patsubst tests/fixtures/%.bpf.c,$(BUILD)/fixtures/%.bpf.o,$(wildcard tests/fixtures/*.bpf.c))
TESTBINS := $(patsubst tests/lib/%.c,$(BUILD)/tests/%,$(wildcard tests/lib/*.c))
UNIT := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))

$(BUILD)/fixtures/%.bpf.o: tests/fixtures/%.bpf.c vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/lib/%.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) $< $(COMMON_LIB) $(LIBS) -lpthread -o $@

# A tool's own modules (tools/TOOL/*.c but its main, tools/TOOL/TOOL.c) are
# unit-tested where they live: unit tests link them from one archive.
TOOL_MODULES := $(filter-out $(foreach t,$(TOOLS),tools/$(t)/$(t).c),$(wildcard tools/*/*.c))
TOOL_MODLIB := $(BUILD)/libtoolmods.a

$(TOOL_MODLIB): $(patsubst tools/%.c,$(BUILD)/tools/%.o,$(TOOL_MODULES))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(TOOL_MODLIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(addprefix -I,$(wildcard tools/*/)) $(DEPFLAGS) $(LDFLAGS) $< $(TOOL_MODLIB) $(COMMON_LIB) \
		$(LIBS) -lcmocka -o $@

testbins: all $(FIXTURES) $(TESTBINS) $(UNIT)
.PHONY: testbins

deps:
	@tests/deps.sh

# The whole suite: unit + integration on this kernel, then inside the
# second-kernel guest; ends with one "N passed, N failed, N skipped" line.
test: deps
	@$(MAKE) --no-print-directory testbins
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=address testbins
	@tests/run.sh

unit: testbins
	@tests/run.sh --unit-only

integration: testbins
	@tests/run.sh --host-only

# The guests' kernel series (tests/vm), one after the other (BPFSCOPE_VM_PARALLEL=1: side by side):
# `make test` runs the [kernel] tests in each, `make vmtest` the whole suite. KERNEL=6.12 (or BPFSCOPE_VM_KERNELS=6.12) runs one.
KERNEL ?= 6.1 6.12
export BPFSCOPE_VM_KERNELS ?= $(KERNEL)

vmtest: testbins
	@tests/run.sh --vm-only

bench: all testbins
	@bench/run.sh

demo: deps
	@$(MAKE) --no-print-directory all testbins
	@demo/demo.sh

# Install layout (DESTDIR for staging; the Debian package uses PREFIX=/usr).
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
LIBEXECDIR ?= $(PREFIX)/libexec/bpfscope
DOCDIR ?= $(PREFIX)/share/doc/bpfscope
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
# Debian 12 keeps units in /lib/systemd/system; other prefixes in their lib/
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
UNIT_DROPINS := $(foreach t,$(TOOLS),bpfscope@$(t).service.d/capabilities.conf)
EXAMPLES := examples/bpfscope-alerts.yml examples/bpfscope-alerts.test.yml
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

# Tools, man pages, bash completion (one file, a link per tool), the systemd
# timer units with their settings and logrotate file, the alert examples.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(addprefix $(BUILD)/,$(TOOLS)) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(addprefix man/man8/,$(addsuffix .8,$(TOOLS))) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/man7/bpfscope-output.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completion/bpfscope $(DESTDIR)$(BASHCOMPDIR)/bpfscope
	for t in $(TOOLS); do ln -sf bpfscope $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(DOCDIR)/examples
	$(SUBST) systemd/bpfscope-snapshot > $(DESTDIR)$(LIBEXECDIR)/bpfscope-snapshot
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/bpfscope-snapshot
	for u in bpfscope@.service bpfscope@.timer $(UNIT_DROPINS); do \
		install -d $(DESTDIR)$(UNITDIR)/$$(dirname $$u) && \
		$(SUBST) systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(SUBST) systemd/bpfscope.default > $(DESTDIR)$(SYSCONFDIR)/default/bpfscope
	install -m 0644 systemd/bpfscope.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/bpfscope
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/default/bpfscope
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

.PHONY: uninstall deb

# Everything install put there, and the directories only bpfscope uses.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(addsuffix .8,$(TOOLS))) $(DESTDIR)$(MANDIR)/man7/bpfscope-output.7
	rm -f $(DESTDIR)$(BASHCOMPDIR)/bpfscope $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(TOOLS))
	rm -f $(DESTDIR)$(LIBEXECDIR)/bpfscope-snapshot
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,bpfscope@.service bpfscope@.timer $(UNIT_DROPINS))
	rm -f $(DESTDIR)$(SYSCONFDIR)/default/bpfscope $(DESTDIR)$(SYSCONFDIR)/logrotate.d/bpfscope
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(addprefix $(DESTDIR)$(UNITDIR)/,$(dir $(UNIT_DROPINS))) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian package (debian/), built by dpkg-buildpackage in a copy of the
# tree under $(DEBBUILD), so that this tree stays clean and dh_auto_clean
# (make clean) touches only the copy: the .deb files end in $(DEBBUILD).
DEBBUILD ?= $(BUILD)/deb
deb:
	rm -rf $(DEBBUILD)
	mkdir -p $(DEBBUILD)/src/bpfscope
	tar -cf - --exclude-vcs --exclude=./build --exclude=./$(BUILD) . | tar -C $(DEBBUILD)/src/bpfscope -xf -
	cd $(DEBBUILD)/src/bpfscope && dpkg-buildpackage -us -uc -b -J$$(nproc)
	mv $(DEBBUILD)/src/*.deb $(DEBBUILD)/src/*.buildinfo $(DEBBUILD)/src/*.changes $(DEBBUILD)/
	rm -rf $(DEBBUILD)/src
	@ls -1 $(DEBBUILD)/*.deb

lint:
	mandoc -Tlint -W warning $(addprefix man/man8/,$(addsuffix .8,$(TOOLS))) man/man7/bpfscope-output.7
	bash -n completion/bpfscope
	sh -n systemd/bpfscope-snapshot
	@if command -v promtool >/dev/null; then \
		promtool check rules examples/bpfscope-alerts.yml && \
		cd examples && promtool test rules bpfscope-alerts.test.yml; \
	fi

# Regenerate vmlinux.h from the running kernel (explicit only; checked in).
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(BUILD)

# For editors and clang tools: how each C file of the tree is compiled.
compile_commands.json:
	@for f in $(COMMON_SRC) $(wildcard tools/*.c tools/*/*.c tests/lib/*.c tests/unit/*.c); do \
		jq -n --arg d "$(CURDIR)" --arg f "$$f" --arg c "$(CC) $(CFLAGS) -c $$f" \
			'{directory: $$d, file: $$f, command: $$c}'; \
	done | jq -s . > $@
	@echo "compile_commands.json: $$(jq length $@) files"

-include $(wildcard $(BUILD)/*.d $(BUILD)/common/*.d $(BUILD)/tools/*.d $(BUILD)/tools/*/*.d $(BUILD)/tests/*.d $(BUILD)/unit/*.d $(BUILD)/fixtures/*.d)
