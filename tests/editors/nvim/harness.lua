-- Drives a real headless Neovim (0.7+) against sql-lsp and records what the editor shows.
--
--   nvim --headless --clean -c 'luafile harness.lua'     with SQL_LSP_E2E=<plan.json>
--
-- The plan (written by tests/editors/test_neovim.py) says how to set the client up (`setup`):
--   {"kind": "snippet", "file": "..."}                     dofile() a config snippet from the README
--   {"kind": "config", "rtp": "editors/nvim", "config": {...}}  lsp/sql_lsp.lua + vim.lsp.enable
-- and which files to open, what to wait for, where to hover and which quick fix to pick. Waiting is
-- on conditions (the expected diagnostics, a changed buffer, a message) with a time limit; the
-- harness records what it saw either way and the Python test asserts on the recording (`result`).
-- Everything goes through the editor's own code paths: FileType autocommands attach the client,
-- vim.diagnostic holds the diagnostics, vim.lsp.buf.hover() opens the float, and
-- vim.lsp.buf.code_action() + vim.ui.select apply the quick fix.

local plan = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('SQL_LSP_E2E')), '\n'))
local TIMEOUT = plan.timeout_ms or 20000
local rec = { errors = {}, files = {}, events = {} }
local v = vim.version()
rec.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)

local function log(msg)
  table.insert(rec.events, msg)
  io.stdout:write(msg .. '\n')
end

local function get_clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  if bufnr then
    local out = {}
    for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
      table.insert(out, c)
    end
    return out
  end
  return vim.lsp.get_active_clients()
end

local function diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out, {
      line = d.lnum,
      col = d.col,
      end_line = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
      source = d.source,
      code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
      message = d.message,
    })
  end
  table.sort(out, function(a, b)
    if a.line ~= b.line then
      return a.line < b.line
    end
    if a.col ~= b.col then
      return a.col < b.col
    end
    return tostring(a.code) < tostring(b.code)
  end)
  return out
end

-- "line:col:code" keys of the sql-lsp diagnostics, sorted, for comparing with the plan's expectations.
local function keys(diags)
  local out = {}
  for _, d in ipairs(diags) do
    if d.source == 'sql-lsp' then
      table.insert(out, string.format('%d:%d:%s', d.line, d.col, tostring(d.code)))
    end
  end
  table.sort(out)
  return table.concat(out, ' ')
end

local function expected_keys(pairs_)
  local out = {}
  for _, p in ipairs(pairs_) do
    table.insert(out, string.format('%d:%d:%s', p[1], p[2], p[3]))
  end
  table.sort(out)
  return table.concat(out, ' ')
end

local function wait_diagnostics(bufnr, expect)
  local want = expected_keys(expect)
  local ok = vim.wait(TIMEOUT, function()
    return keys(diagnostics(bufnr)) == want
  end, 20)
  if not ok then
    log(string.format('timed out waiting for diagnostics [%s], have [%s]', want, keys(diagnostics(bufnr))))
  end
  return ok
end

local function open(path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local attached = vim.wait(TIMEOUT, function()
    for _, c in ipairs(get_clients(bufnr)) do
      if c.initialized then
        return true
      end
    end
    return false
  end, 20)
  local root
  for _, c in ipairs(get_clients(bufnr)) do
    root = c.config.root_dir
  end
  log(string.format('opened %s filetype=%s attached=%s root=%s', path, vim.bo[bufnr].filetype, tostring(attached),
    tostring(root)))
  return bufnr, attached, root
end

local function floats()
  local out = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= '' then
      table.insert(out, w)
    end
  end
  return out
end

local function close_floats()
  for _, w in ipairs(floats()) do
    vim.api.nvim_win_close(w, true)
  end
end

local function main()
  -- set the client up
  if plan.setup.kind == 'snippet' then
    dofile(plan.setup.file)
  else
    vim.opt.runtimepath:prepend(plan.setup.rtp)
    if plan.setup.config then
      vim.lsp.config('sql_lsp', plan.setup.config)
    end
    vim.lsp.enable('sql_lsp')
  end
  if plan.setup.completion then -- the README's vim.lsp.completion set-up (an LspAttach autocommand)
    dofile(plan.setup.completion)
  end
  local notes = {}
  vim.notify = function(msg, level)
    table.insert(notes, { message = msg, level = level })
  end

  -- open the files; wait for the diagnostics the plan expects
  local buffers = {}
  for _, f in ipairs(plan.files) do
    local bufnr, attached, root = open(f.path)
    buffers[f.path] = bufnr
    wait_diagnostics(bufnr, f.expect)
    rec.files[f.path] = {
      filetype = vim.bo[bufnr].filetype,
      attached = attached,
      root_dir = root or vim.NIL,
      diagnostics = diagnostics(bufnr),
    }
  end

  -- :checkhealth sql_lsp: the report's lines (it opens its own buffer, closed again after)
  if plan.checkhealth then
    local before = vim.api.nvim_get_current_buf()
    vim.wait(TIMEOUT, function()
      return next(require('sql_lsp').database) ~= nil
    end, 20)
    vim.cmd('checkhealth sql_lsp')
    local health_buf = vim.api.nvim_get_current_buf()
    rec.checkhealth = vim.api.nvim_buf_get_lines(health_buf, 0, -1, false)
    if health_buf ~= before then
      vim.cmd('bwipeout! ' .. health_buf)
    end
    if vim.api.nvim_buf_is_valid(before) then
      vim.api.nvim_set_current_buf(before)
    end
  end

  -- hover: the editor's float
  if plan.hover then
    local h = plan.hover
    vim.cmd('buffer ' .. buffers[h.path])
    vim.api.nvim_win_set_cursor(0, { h.line + 1, h.col })
    close_floats()
    vim.lsp.buf.hover()
    local text
    vim.wait(TIMEOUT, function()
      for _, w in ipairs(floats()) do
        text = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false)
        return true
      end
      return false
    end, 20)
    rec.hover = { float = text or vim.NIL }
    close_floats()
  end

  -- quick fix: vim.lsp.buf.code_action() -> vim.ui.select -> the editor applies the edit
  if plan.fix then
    local f = plan.fix
    local bufnr = buffers[f.path]
    vim.cmd('buffer ' .. bufnr)
    vim.api.nvim_win_set_cursor(0, { f.line + 1, f.col })
    local before = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
    local offered, picked = nil, nil
    vim.ui.select = function(items, opts, on_choice)
      offered = {}
      local choice, index
      for i, item in ipairs(items) do
        local title = opts.format_item and opts.format_item(item) or tostring(item)
        table.insert(offered, title)
        if choice == nil and title == f.title then
          choice, index = item, i
        end
      end
      picked = choice and f.title or vim.NIL
      on_choice(choice, index)
    end
    vim.lsp.buf.code_action()
    local changed = vim.wait(TIMEOUT, function()
      return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') ~= before
    end, 20)
    if not changed then
      log('the buffer did not change after the code action')
    end
    wait_diagnostics(bufnr, f.expect_after)
    rec.fix = {
      offered = offered or vim.NIL,
      picked = picked or vim.NIL,
      lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false),
      diagnostics_after = diagnostics(bufnr),
    }
  end

  -- fix-all, as the README shows it (Neovim 0.8+: code_action's `apply`)
  if plan.fix_all and vim.fn.has('nvim-0.8') == 1 then
    local f = plan.fix_all
    local bufnr = open(f.path)
    wait_diagnostics(bufnr, f.expect)
    local before = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
    vim.lsp.buf.code_action({ context = { only = { 'source.fixAll.sql-lsp' } }, apply = true })
    local changed = vim.wait(TIMEOUT, function()
      return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') ~= before
    end, 20)
    if not changed then
      log('the buffer did not change after fix-all')
    end
    wait_diagnostics(bufnr, f.expect_after)
    rec.fix_all = {
      lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false),
      diagnostics_after = diagnostics(bufnr),
    }
  end

  -- the user command
  if plan.refresh then
    vim.cmd('buffer ' .. buffers[plan.refresh.path])
    local ok, err = pcall(vim.cmd, 'SqlLspRefreshCatalog')
    if ok then
      vim.wait(TIMEOUT, function()
        return #notes > 0
      end, 20)
    end
    rec.refresh = { ok = ok, error = ok and vim.NIL or tostring(err), notes = notes }
  end

  -- completion: each case's line typed into a buffer, textDocument/completion at the cursor (what
  -- a completion engine or the omnifunc asks), the items in the editor's order (sortText), and the
  -- buffer once the first item's edit is applied, as the engine does when the user accepts it
  if plan.completion then
    local c = plan.completion
    local bufnr = open(c.path)
    local client
    for _, cl in ipairs(get_clients(bufnr)) do
      client = cl
    end
    rec.completion = {}
    rec.omnifunc = vim.bo[bufnr].omnifunc
    for _, case in ipairs(c.cases) do
      vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { case.text })
      -- the position of an insert-mode cursor (normal mode cannot stand after the last character)
      local params = {
        textDocument = vim.lsp.util.make_text_document_params(bufnr),
        position = { line = 0, character = case.col },
      }
      local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/completion', params, TIMEOUT) or {}
      local list
      for _, r in pairs(responses) do
        list = r.result
      end
      local items = {}
      if list then
        items = vim.deepcopy(list.items or list)
        table.sort(items, function(a, b)
          return (a.sortText or a.label) < (b.sortText or b.label)
        end)
      end
      local labels = {}
      for i, item in ipairs(items) do
        if i <= case.top then
          table.insert(labels, item.label)
        end
      end
      local applied = vim.NIL
      local first = items[1]
      if first then
        local edit = first.textEdit
        if edit == nil and list.itemDefaults and list.itemDefaults.editRange then
          local range = list.itemDefaults.editRange
          edit = { range = range.insert or range, newText = first.textEditText or first.label }
        end
        if edit and edit.insert then -- an insert/replace edit: insert, as the engines do by default
          edit = { range = edit.insert, newText = edit.newText }
        end
        if edit and first.insertTextFormat == 2 then -- a snippet: its text, without the tab stop
          edit.newText = edit.newText:gsub('%$0$', ''):gsub('\\(.)', '%1')
        end
        if edit then
          vim.lsp.util.apply_text_edits({ edit }, bufnr, client.offset_encoding)
          applied = vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1]
        end
      end
      table.insert(rec.completion, { text = case.text, labels = labels, applied = applied })
    end
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, {})
  end

  -- references and rename in a new buffer of the project (never written): vim.lsp.buf.references()
  -- fills the quickfix list, as for a user; vim.lsp.buf.rename(new) edits the buffer
  if plan.references then
    local r = plan.references
    local bufnr = open(r.path)
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, r.lines)
    local function settled()
      -- the server has the buffer's text once a highlight request sees its name
      return vim.wait(TIMEOUT, function()
        local params = {
          textDocument = vim.lsp.util.make_text_document_params(bufnr),
          position = { line = r.line, character = r.col },
        }
        local got = vim.lsp.buf_request_sync(bufnr, 'textDocument/documentHighlight', params, TIMEOUT) or {}
        for _, res in pairs(got) do
          if res.result and #res.result > 0 then
            return true
          end
        end
        return false
      end, 100)
    end
    if not settled() then
      log('the server never resolved the name under the cursor')
    end
    vim.fn.setqflist({}, 'r')
    vim.api.nvim_win_set_cursor(0, { r.line + 1, r.col })
    vim.lsp.buf.references()
    vim.wait(TIMEOUT, function()
      return #vim.fn.getqflist() > 0
    end, 20)
    local items = {}
    for _, item in ipairs(vim.fn.getqflist()) do
      table.insert(items, { vim.fn.fnamemodify(vim.fn.bufname(item.bufnr), ':t'), item.lnum - 1, item.col - 1 })
    end
    vim.cmd('cclose')
    vim.cmd('buffer ' .. bufnr)
    rec.references = items
    -- rename of the CTE: every use in its statement
    local before = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
    vim.api.nvim_win_set_cursor(0, { r.rename.line + 1, r.rename.col })
    vim.lsp.buf.rename(r.rename.new_name)
    vim.wait(TIMEOUT, function()
      return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') ~= before
    end, 20)
    rec.rename = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    vim.cmd('bwipeout! ' .. bufnr)
  end

  -- a file outside any project
  if plan.single then
    local bufnr, attached, root = open(plan.single.path)
    wait_diagnostics(bufnr, plan.single.expect)
    rec.single = { attached = attached, root_dir = root or vim.NIL, diagnostics = diagnostics(bufnr) }
  end
end

-- shut down: every client stops and its server exits
local function shutdown()
  local exits = {}
  for _, c in ipairs(get_clients()) do
    local id = c.id
    vim.lsp.stop_client(id)
    local stopped = vim.wait(TIMEOUT, function()
      return vim.lsp.client_is_stopped(id)
    end, 20)
    table.insert(exits, { name = c.name, stopped = stopped })
  end
  rec.shutdown = exits
end

-- the completion menu as the user gets it (0.11 vim.lsp.completion): in insert mode, which only
-- runs once this script has returned to Neovim's main loop, so the step is a chain of timers that
-- types a case, waits for the menu, records it, accepts the first item (<C-n><C-y>) and goes on
local function popup(done)
  local p = plan.popup
  vim.cmd('edit ' .. vim.fn.fnameescape(p.path))
  local bufnr = vim.api.nvim_get_current_buf()
  rec.popup = {}
  local function poll(cond, next_, what)
    local deadline = vim.uv.now() + TIMEOUT
    local function tick()
      local ok, err = xpcall(function()
        if cond() then
          next_(true)
        elseif vim.uv.now() > deadline then
          log('timed out waiting for ' .. what)
          next_(false)
        else
          vim.defer_fn(tick, 20)
        end
      end, debug.traceback)
      if not ok then
        table.insert(rec.errors, tostring(err))
        done()
      end
    end
    vim.defer_fn(tick, 20)
  end
  local function case(n)
    local c = p.cases[n]
    if c == nil then
      done()
      return
    end
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { c.text })
    local keys
    if c.col >= #c.text then
      keys = 'A'
    else
      vim.api.nvim_win_set_cursor(0, { 1, c.col })
      keys = 'i'
    end
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys .. p.keys, true, false, true), 'mt', false)
    poll(function()
      return vim.fn.pumvisible() == 1 and #vim.fn.complete_info({ 'items' }).items >= c.top
    end, function()
      local words = {}
      for i, item in ipairs(vim.fn.complete_info({ 'items' }).items) do
        if i <= c.top then
          table.insert(words, item.abbr ~= '' and item.abbr or item.word)
        end
      end
      local entry = { text = c.text, labels = words }
      table.insert(rec.popup, entry)
      vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<C-n><C-y><Esc>', true, false, true), 'nt', false)
      poll(function()
        return vim.api.nvim_get_mode().mode == 'n'
          and vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1] ~= c.text
      end, function()
        entry.applied = vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1]
        case(n + 1)
      end, 'the accepted item')
    end, 'the completion menu')
  end
  case(1)
end

local function finish(ok, err)
  if not ok then
    table.insert(rec.errors, tostring(err))
    log('ERROR ' .. tostring(err))
  end
  vim.fn.writefile({ vim.fn.json_encode(rec) }, plan.result)
  vim.cmd(ok and #rec.errors == 0 and 'qall!' or 'cquit! 1')
end

local ok, err = xpcall(main, debug.traceback)
if ok and plan.popup then
  popup(function()
    vim.cmd('stopinsert')
    finish(xpcall(shutdown, debug.traceback))
  end)
else
  if ok then
    ok, err = xpcall(shutdown, debug.traceback)
  end
  finish(ok, err)
end
