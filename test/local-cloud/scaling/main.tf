# A scaling group joined to a CLB server group, as docs/auto-scaling.md designs it: the test
# configuration that test/local-cloud/scaling-provider.test.ts applies, plans and destroys with the
# real provider (volcengine 0.0.196) against the local cloud. Not part of the user's stack.
terraform {
  required_providers {
    volcengine = {
      source  = "volcengine/volcengine"
      version = "0.0.196"
    }
  }
}

provider "volcengine" {
  region = "cn-beijing"
}

variable "public_key" {
  type = string
}

variable "image_id" {
  type = string
}

# Scaled to 0 before a destroy: whether DeleteScalingGroup releases a group's instances or refuses
# is not documented (docs/auto-scaling.md), and an empty group is deleted under either answer.
variable "desired" {
  type    = number
  default = 1
}

resource "volcengine_vpc" "main" {
  vpc_name   = "scaling-test"
  cidr_block = "172.16.0.0/16"
}

resource "volcengine_subnet" "app_a" {
  subnet_name = "scaling-test-app-a"
  cidr_block  = "172.16.1.0/24"
  zone_id     = "cn-beijing-a"
  vpc_id      = volcengine_vpc.main.id
}

resource "volcengine_subnet" "app_b" {
  subnet_name = "scaling-test-app-b"
  cidr_block  = "172.16.2.0/24"
  zone_id     = "cn-beijing-b"
  vpc_id      = volcengine_vpc.main.id
}

resource "volcengine_security_group" "app" {
  security_group_name = "scaling-test-app"
  vpc_id              = volcengine_vpc.main.id
}

resource "volcengine_ecs_key_pair" "deploy" {
  key_pair_name = "scaling-test"
  public_key    = var.public_key
}

resource "volcengine_clb" "lb" {
  type               = "public"
  subnet_id          = volcengine_subnet.app_a.id
  load_balancer_name = "scaling-test"
  load_balancer_spec = "small_1"
  eip_billing_config {
    isp              = "BGP"
    eip_billing_type = "PostPaidByTraffic"
    bandwidth        = 5
  }
}

resource "volcengine_server_group" "app" {
  load_balancer_id  = volcengine_clb.lb.id
  server_group_name = "scaling-test-app"
}

resource "volcengine_scaling_group" "app" {
  scaling_group_name        = "scaling-test-app"
  subnet_ids                = [volcengine_subnet.app_a.id, volcengine_subnet.app_b.id]
  multi_az_policy           = "BALANCE"
  min_instance_number       = 0
  max_instance_number       = 4
  desire_instance_number    = var.desired
  default_cooldown          = 60
  instance_terminate_policy = "OldestInstance"
  server_group_attributes {
    server_group_id = volcengine_server_group.app.id
    port            = 80
    weight          = 50
  }
}

resource "volcengine_scaling_configuration" "app" {
  scaling_group_id           = volcengine_scaling_group.app.id
  scaling_configuration_name = "scaling-test-app"
  image_id                   = var.image_id
  instance_types             = ["ecs.g1.large"]
  instance_name              = "scaling-test-app"
  security_group_ids         = [volcengine_security_group.app.id]
  key_pair_name              = volcengine_ecs_key_pair.deploy.key_pair_name
  # The provider passes user_data as it is; ECS wants base64.
  user_data = base64encode("#cloud-config\nruncmd:\n  - [echo, scaled-out]\n")
  volumes {
    volume_type          = "ESSD_PL0"
    size                 = 40
    delete_with_instance = true
  }
}

resource "volcengine_scaling_configuration_attachment" "app" {
  scaling_configuration_id = volcengine_scaling_configuration.app.id
}

# Holds every new instance until the seed completes the hook (CONTINUE); a timeout rejects it.
resource "volcengine_scaling_lifecycle_hook" "release" {
  scaling_group_id       = volcengine_scaling_group.app.id
  lifecycle_hook_name    = "wait-for-release"
  lifecycle_hook_type    = "SCALE_OUT"
  lifecycle_hook_policy  = "REJECT"
  lifecycle_hook_timeout = 900
}

# Enabled last: the group launches only with an active configuration and the hook in place, and a
# destroy disables it before the configuration goes.
resource "volcengine_scaling_group_enabler" "app" {
  scaling_group_id = volcengine_scaling_group.app.id
  depends_on       = [volcengine_scaling_configuration_attachment.app, volcengine_scaling_lifecycle_hook.release]
}
