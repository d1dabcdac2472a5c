# Cross Memory Attach: build, boot and test.  Everything lands in build/.
PY := python3 harness/cma.py

.PHONY: all demo check check-quick stress patches bench deps fresh-root clean

all: demo

demo:
	$(PY) demo

check:
	$(PY) check

check-quick:
	$(PY) check --quick

stress:
	$(PY) stress

patches:
	$(PY) patches

bench:
	$(PY) bench

# Every Debian package any of the commands above needs (they install their
# own on demand; this is for preparing a machine in one go).
deps:
	$(PY) install

# The README's first command in a debootstrapped Debian 12 root (minutes;
# run before resolving anything that touches set-up).
fresh-root:
	bash harness/fresh-root.sh

clean:
	rm -rf build/out build/bin build/logs build/patches
