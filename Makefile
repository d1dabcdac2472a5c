# Cross Memory Attach: build, boot and test.  Everything lands in build/.
PY := python3 harness/cma.py

.PHONY: all demo check check-quick stress patches bench clean

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

clean:
	rm -rf build/out build/bin build/logs build/patches
