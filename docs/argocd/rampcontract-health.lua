-- Argo CD health check for rampart.dev/RampContract (Lua 5.1, as Argo CD runs it).
-- Install: in the argocd-cm ConfigMap, under
--   resource.customizations.health.rampart.dev_RampContract: |
-- paste this file. Argo CD sets `obj` to the live object and reads `status` and `message`.
--
--   Complete                            Healthy     every policy in force as written
--   Observing                           Progressing a stage is gathering evidence
--   AwaitingApproval, Paused            Suspended   waiting for a person (approve / resume)
--   Blocked, RolledBack, invalid spec   Degraded    a gate failed, real denies, or bad input
--   no status yet, or a stale one       Progressing the control plane has not caught up
local hs = {}

local function first_reason(status)
  if status.decision ~= nil and status.decision.reasons ~= nil and status.decision.reasons[1] ~= nil then
    return status.decision.reasons[1]
  end
  return ""
end

local function stage_name(status)
  if status.stage ~= nil and status.stage.name ~= nil then
    return status.stage.name
  end
  return "?"
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Rampart control plane to report"
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the Rampart control plane to observe generation " .. generation
  return hs
end

-- Problems with the spec stop the ramp; a refused action (a problem of the action
-- annotation) does not.
if status.problems ~= nil then
  for _, p in ipairs(status.problems) do
    local path = p.path or ""
    if string.sub(path, 1, string.len("metadata.annotations")) ~= "metadata.annotations" then
      hs.status = "Degraded"
      hs.message = "Invalid spec: " .. path .. ": " .. (p.message or "")
      return hs
    end
  end
end

local phase = status.phase
local where = "stage " .. stage_name(status) .. ": "
if phase == "Complete" then
  hs.status = "Healthy"
  hs.message = "Complete: every policy is in force"
elseif phase == "Observing" then
  hs.status = "Progressing"
  hs.message = where .. first_reason(status)
elseif phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = where .. "awaiting approval (kubectl rampart approve " .. obj.metadata.name .. ")"
elseif phase == "Paused" then
  hs.status = "Suspended"
  hs.message = where .. "paused (kubectl rampart resume " .. obj.metadata.name .. ")"
elseif phase == "Blocked" or phase == "RolledBack" then
  hs.status = "Degraded"
  hs.message = phase .. " at " .. where .. first_reason(status)
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
