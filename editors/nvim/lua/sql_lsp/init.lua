-- sql-lsp for Neovim: what lsp/sql_lsp.lua and :checkhealth sql_lsp share.
local M = {}

--- The distribution that provides the server (`pip install sql-review-lsp`).
M.distribution = 'sql-review-lsp'

--- The last sql-lsp/databaseState notification of each client (by client id):
--- { state = 'connected' | 'unreachable' | 'connecting' | 'off', message = '...' }.
M.database = {}

--- The version of this server that `cmd --version` prints, or nil and what it said instead.
--- (`sql-lsp 0.1.0 (sql-review-lsp; ...)`: another program called sql-lsp is never taken for it.)
---@param cmd string[]
---@return string|nil version, string said
function M.server_version(cmd)
  local argv = vim.list_extend(vim.deepcopy(cmd), { '--version' })
  local ok, out = pcall(vim.fn.system, argv)
  out = ok and out or ''
  local said = vim.trim(vim.split(out, '\n')[1] or '')
  if not ok or vim.v.shell_error ~= 0 then
    return nil, said
  end
  return said:match('^sql%-lsp (%S+) %(sql%-review%-lsp[;)]'), said
end

--- The server command: `sql-lsp` on PATH, else the sql_lsp module of python3, whichever
--- `--version` shows to be this server; nil when there is none.
---@return string[]|nil
function M.find_cmd()
  if vim.fn.executable('sql-lsp') == 1 and M.server_version({ 'sql-lsp' }) then
    return { 'sql-lsp' }
  end
  if vim.fn.executable('python3') == 1 and M.server_version({ 'python3', '-m', 'sql_lsp' }) then
    return { 'python3', '-m', 'sql_lsp' }
  end
  return nil
end

--- Handler of the server's sql-lsp/databaseState notification.
function M.on_database_state(_, result, ctx)
  if ctx and ctx.client_id and type(result) == 'table' then
    M.database[ctx.client_id] = { state = result.state, message = result.message }
  end
end

return M
