-- sql-lsp for Neovim 0.11+ (vim.lsp.config style).
--
-- Put the folder that holds this lsp/ directory on 'runtimepath' (or copy this file into
-- ~/.config/nvim/lsp/), then:
--
--   vim.lsp.enable('sql_lsp')
--
-- and, optionally, override any field:
--
--   vim.lsp.config('sql_lsp', {
--     settings = { sqlLsp = {
--       database = { url = 'postgresql://app@localhost/app' },
--       rules = { ['select-star'] = 'error', ['missing-fk-index'] = 'off' },
--     } },
--   })
--
-- The project root is the nearest folder with sql-lsp.toml, pyproject.toml or .git; with none of
-- them the file is served on its own (single-file mode). `:SqlLspRefreshCatalog` reloads the schema
-- catalog (workspace DDL and the live database).

--- "catalog refreshed: 2 tables, 3 indexes from 2 files" from the server's answer.
local function describe_refresh(result)
  if type(result) == 'string' and result ~= '' then
    return result
  end
  local function count(n, one, many)
    return n .. ' ' .. (n == 1 and one or many)
  end
  if type(result) == 'table' and type(result.tables) == 'number' then
    return string.format('catalog refreshed: %s, %s from %s', count(result.tables, 'table', 'tables'),
      count(result.indexes or 0, 'index', 'indexes'), count(result.files or 0, 'file', 'files'))
  end
  return 'catalog refreshed'
end

---@param client vim.lsp.Client
---@param bufnr integer
local function on_attach(client, bufnr)
  vim.api.nvim_buf_create_user_command(bufnr, 'SqlLspRefreshCatalog', function()
    client:exec_cmd({ title = 'Refresh catalog', command = 'sql-lsp.refreshCatalog', arguments = {} }, { bufnr = bufnr },
      function(err, result)
        if err then
          vim.notify('sql-lsp: refreshing the catalog failed: ' .. err.message, vim.log.levels.ERROR)
        else
          vim.notify('sql-lsp: ' .. describe_refresh(result), vim.log.levels.INFO)
        end
      end)
  end, { desc = 'sql-lsp: reload the schema catalog' })
end

---@type vim.lsp.Config
return {
  -- `sql-lsp` from PATH (pip install sql-lsp); without it, the sql_lsp module of python3.
  cmd = vim.fn.executable('sql-lsp') == 1 and { 'sql-lsp' } or { 'python3', '-m', 'sql_lsp' },
  filetypes = { 'sql', 'pgsql', 'plsql', 'mysql' },
  root_markers = { 'sql-lsp.toml', 'pyproject.toml', '.git' },
  -- Editor settings, camelCase like the VS Code settings (sqlLsp.*); they override the project's
  -- sql-lsp.toml / [tool.sql-lsp]. Sent at start-up and on workspace/configuration.
  settings = { sqlLsp = vim.empty_dict() },
  before_init = function(params, config)
    if params.initializationOptions == nil then
      local settings = vim.tbl_get(config, 'settings', 'sqlLsp')
      -- an empty Lua table would be sent as a JSON array
      params.initializationOptions = (settings == nil or vim.tbl_isempty(settings)) and vim.empty_dict() or settings
    end
  end,
  on_attach = on_attach,
}
