-- Rename a column in a new migration through vim.lsp.buf.code_action(), with
-- editors/nvim/lsp/sql_lsp.lua (vim.lsp.config / vim.lsp.enable) on the runtimepath. The user's
-- answer to the new-name prompt comes from a vim.ui.input replacement (the hook UI plugins
-- use); everything else is Neovim's own: the code action menu's pick, the client-side command,
-- workspace/executeCommand and the workspace/applyEdit that creates the file.
local plan = vim.json.decode(table.concat(vim.fn.readfile(vim.env.SQL_LSP_E2E), '\n'))
local rec = { errors = {}, prompts = {} }
local function finish()
  vim.fn.writefile({ vim.json.encode(rec) }, plan.result)
  vim.cmd('qa!')
end
local ok, err = pcall(function()
  vim.opt.rtp:prepend(plan.rtp)
  vim.lsp.enable('sql_lsp')
  vim.ui.input = function(opts, on_confirm)
    table.insert(rec.prompts, { prompt = opts.prompt, default = opts.default })
    on_confirm(plan.new_name)
  end
  vim.ui.select = function(items, opts, on_choice)
    rec.offered = vim.tbl_map(function(item) return opts.format_item(item) end, items)
    for i, item in ipairs(items) do
      if item.action.title == plan.title then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.cmd('edit ' .. vim.fn.fnameescape(plan.path))
  local bufnr = vim.api.nvim_get_current_buf()
  assert(vim.wait(20000, function()
    local c = vim.lsp.get_clients({ bufnr = bufnr })[1]
    return c ~= nil and c.initialized
  end), 'the client did not start')
  -- the workspace scan (the catalog) is over once the buffer's diagnostics arrive
  vim.wait(3000, function() return false end)
  vim.api.nvim_win_set_cursor(0, { plan.line + 1, plan.col })
  vim.lsp.buf.code_action({ context = { only = { 'refactor' }, diagnostics = {} } })
  assert(vim.wait(10000, function() return vim.fn.bufnr(plan.new_path) > 0 end), 'no new migration')
  vim.wait(500, function() return false end)
  rec.lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  rec.new_lines = vim.api.nvim_buf_get_lines(vim.fn.bufnr(plan.new_path), 0, -1, false)
  rec.on_disk = vim.fn.readdir(vim.fs.dirname(plan.new_path))
end)
if not ok then
  table.insert(rec.errors, tostring(err))
end
finish()
