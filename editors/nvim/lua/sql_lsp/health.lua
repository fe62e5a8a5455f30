-- :checkhealth sql_lsp — the server binary and its version, the settings file of the project
-- (the running client's root, else the current directory), and the database state the running
-- server reported.
local M = {}

local health = vim.health
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local err = health.error or health.report_error
local info = health.info or health.report_info

local function clients()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ name = 'sql_lsp' })
end

--- The nearest sql-lsp.toml, or pyproject.toml with a [tool.sql-lsp] table, above `dir`.
local function settings_file(dir)
  while dir and dir ~= '' do
    local toml = dir .. '/sql-lsp.toml'
    if vim.fn.filereadable(toml) == 1 then
      return toml
    end
    local pyproject = dir .. '/pyproject.toml'
    if vim.fn.filereadable(pyproject) == 1 then
      for _, line in ipairs(vim.fn.readfile(pyproject)) do
        if line:match('^%s*%[tool%.sql%-lsp[%].]') then
          return pyproject
        end
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return nil
end

function M.check()
  local sql_lsp = require('sql_lsp')
  local running = clients()

  start('sql-lsp: server')
  local cmd = running[1] and running[1].config.cmd
  if type(cmd) ~= 'table' then
    local configured = vim.lsp.config and vim.lsp.config.sql_lsp
    cmd = configured and type(configured.cmd) == 'table' and configured.cmd or sql_lsp.find_cmd()
  end
  if not cmd or not cmd[1] then
    err('no sql-lsp server found on PATH', { 'pip install ' .. sql_lsp.distribution .. ' (or pipx install ' .. sql_lsp.distribution .. ')' })
  else
    local exe = vim.fn.exepath(cmd[1])
    if exe == '' then
      err(cmd[1] .. ' is not executable', { 'pip install ' .. sql_lsp.distribution })
    else
      ok('command: ' .. table.concat(cmd, ' ') .. ' (' .. exe .. ')')
      local version, said = sql_lsp.server_version(cmd)
      if version then
        ok('version: ' .. said)
      else
        err(('%s --version said "%s": this is not sql-lsp'):format(table.concat(cmd, ' '), said),
          { 'pip install ' .. sql_lsp.distribution })
      end
    end
  end

  start('sql-lsp: settings')
  -- (the current buffer is the report's own: look from the running client's root, else the cwd)
  local dir = running[1] and running[1].config.root_dir or vim.fn.getcwd()
  local file = settings_file(dir)
  if file then
    ok('settings file: ' .. file)
  else
    info('no sql-lsp.toml or [tool.sql-lsp] in pyproject.toml above ' .. dir .. ': the defaults apply')
  end

  start('sql-lsp: database')
  if #running == 0 then
    info('no sql_lsp client is running (open a SQL file to start one)')
  end
  for _, client in ipairs(running) do
    local state = sql_lsp.database[client.id]
    local label = ('client %d (%s)'):format(client.id, client.config.root_dir or 'single file')
    if not state then
      info(label .. ': database state not reported yet')
    elseif state.state == 'connected' then
      ok(label .. ': database connected')
    elseif state.state == 'unreachable' then
      warn(label .. ': database unreachable: ' .. tostring(state.message))
    elseif state.state == 'off' then
      info(label .. ': database off (no database.url, SQL_LSP_DATABASE_URL or PG* settings)')
    else
      info(label .. ': database ' .. tostring(state.state))
    end
  end
end

return M
