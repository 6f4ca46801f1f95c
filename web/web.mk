# web/web.mk: build and test rules for the civgrid web UI.
#
# Included from the top Makefile (which runs from the repository root), or
# used on its own from the root:  make -f web/web.mk web-vendor
#
#   web-deps    npm ci in web/, only when node_modules is missing or older
#               than package.json / package-lock.json (stamp file)
#   web-vendor  copy the ES module builds of preact, preact/hooks, htm,
#               qrcode-generator and leaflet (with leaflet's stylesheet), with
#               their licenses, into web/public/vendor/ (generated)
#   test-web    browser tests (node:test + playwright-core + Debian chromium)
#               against the server binary $(CIVGRIDD)
#   web-clean   remove web/public/vendor/ (node_modules is kept)
#
# CIVGRIDD is normally set by the top Makefile before this file is included:
# it is used as a prerequisite, so it must be defined before the include.

# Do not let the rules below become the default goal of the including Makefile.
WEB_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

CIVGRIDD ?= build/civgridd

WEB_DIR    := web
WEB_NM     := $(WEB_DIR)/node_modules
WEB_STAMP  := $(WEB_NM)/.stamp
WEB_VENDOR := $(WEB_DIR)/public/vendor
WEB_TESTS  := $(wildcard tests/web/*.test.mjs)

# Vendored files: destination name in web/public/vendor <- source in node_modules.
# Preact 11 and qrcode-generator 2 ship their ES modules as .mjs; they are
# renamed to .js so that the server only needs the one JavaScript content type.
# qrcode-generator (MIT) has no LICENSE file in its package: its notice is the
# comment block at the top of the module, which is kept in the copy and also
# written out as LICENSE-qrcode-generator.txt.
# Leaflet: its ES module build (leaflet-src.esm.js, the unminified source; the
# minified dist/leaflet.js is UMD only) and leaflet.css. The stylesheet's
# images (layer switcher, default marker) are not copied: the map page uses
# neither, and draws its markers as circles.
WEB_VENDOR_FILES := \
	$(WEB_VENDOR)/preact.js \
	$(WEB_VENDOR)/preact.js.map \
	$(WEB_VENDOR)/preact-hooks.js \
	$(WEB_VENDOR)/preact-hooks.js.map \
	$(WEB_VENDOR)/htm.js \
	$(WEB_VENDOR)/qrcode-generator.js \
	$(WEB_VENDOR)/leaflet.js \
	$(WEB_VENDOR)/leaflet.js.map \
	$(WEB_VENDOR)/leaflet.css \
	$(WEB_VENDOR)/LICENSE-preact.txt \
	$(WEB_VENDOR)/LICENSE-htm.txt \
	$(WEB_VENDOR)/LICENSE-qrcode-generator.txt \
	$(WEB_VENDOR)/LICENSE-leaflet.txt

.PHONY: web-deps web-vendor test-web web-clean

web-deps: $(WEB_STAMP)
	@:

$(WEB_STAMP): $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	@echo "  NPM     $(WEB_NM)"
	@cd $(WEB_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

web-vendor: web-deps $(WEB_VENDOR_FILES)
	@:

# One grouped step (GNU make >= 4.3) producing every vendored file.
$(WEB_VENDOR_FILES) &: $(WEB_STAMP) $(WEB_DIR)/web.mk
	@echo "  VENDOR  $(WEB_VENDOR)"
	@mkdir -p $(WEB_VENDOR)
	@sed 's|sourceMappingURL=preact.mjs.map|sourceMappingURL=preact.js.map|' \
		$(WEB_NM)/preact/dist/preact.mjs > $(WEB_VENDOR)/preact.js
	@cp $(WEB_NM)/preact/dist/preact.mjs.map $(WEB_VENDOR)/preact.js.map
	@sed -e 's|sourceMappingURL=hooks.mjs.map|sourceMappingURL=preact-hooks.js.map|' \
		-e 's|from"preact"|from"./preact.js"|g' \
		$(WEB_NM)/preact/hooks/dist/hooks.mjs > $(WEB_VENDOR)/preact-hooks.js
	@cp $(WEB_NM)/preact/hooks/dist/hooks.mjs.map $(WEB_VENDOR)/preact-hooks.js.map
	@cp $(WEB_NM)/htm/dist/htm.module.js $(WEB_VENDOR)/htm.js
	@cp $(WEB_NM)/preact/LICENSE $(WEB_VENDOR)/LICENSE-preact.txt
	@cp $(WEB_NM)/htm/LICENSE $(WEB_VENDOR)/LICENSE-htm.txt
	@cp $(WEB_NM)/qrcode-generator/dist/qrcode.mjs $(WEB_VENDOR)/qrcode-generator.js
	@sed -n '1,/^$$/p' $(WEB_NM)/qrcode-generator/dist/qrcode.mjs \
		> $(WEB_VENDOR)/LICENSE-qrcode-generator.txt
	@sed 's|sourceMappingURL=leaflet-src.esm.js.map|sourceMappingURL=leaflet.js.map|' \
		$(WEB_NM)/leaflet/dist/leaflet-src.esm.js > $(WEB_VENDOR)/leaflet.js
	@cp $(WEB_NM)/leaflet/dist/leaflet-src.esm.js.map $(WEB_VENDOR)/leaflet.js.map
	@cp $(WEB_NM)/leaflet/dist/leaflet.css $(WEB_VENDOR)/leaflet.css
	@cp $(WEB_NM)/leaflet/LICENSE $(WEB_VENDOR)/LICENSE-leaflet.txt
	@touch $(WEB_VENDOR_FILES)

test-web: web-vendor $(CIVGRIDD)
	@echo "  TEST    tests/web ($(CIVGRIDD))"
	@CIVGRIDD=$(CIVGRIDD) node --test $(WEB_TESTS)

web-clean:
	@echo "  CLEAN   $(WEB_VENDOR)"
	@rm -rf $(WEB_VENDOR)

.DEFAULT_GOAL := $(WEB_SAVED_DEFAULT_GOAL)
